// @vitest-environment happy-dom
import { isGraylaneError, parseConfig } from '@graylane/core';
import axios, { type AxiosAdapter } from 'axios';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as axiosEntry from '../src/axios.js';
import * as jsCookieEntry from '../src/js-cookie.js';
import * as main from '../src/index.js';
import * as regexEntry from '../src/regex.js';
import * as remoteEntry from '../src/remote.js';
import * as standalone from '../src/standalone.js';
import { at, clearCookies, reload } from './page.js';

// I1 / review 69 D1: what plain JS may hand an export as its options argument. `installFetch(null)`,
// `installXHR(null)`, `withGray(fetch, null)` were accepted, and then every fetch / XHR of the page
// threw `TypeError: Cannot read properties of null (reading 'client')` (the `options = {}` default
// covers `undefined` only); `split(w, null)` threw a raw TypeError. Every function exported by every
// browser entry now either treats such an argument as none — it behaves exactly as when called
// without one — or throws INVALID_OPTIONS at the call. The sweep walks the entries' exports, so a
// new export fails here until it has a row. (Real requests in Chromium: chromium/options-network.test.ts.)

const VERSIONS = ['stable', 'beta'];
const THIRD = 'https://third.example/x';

/** What plain JS may pass where an options object belongs. */
const VALUES: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['0', 0],
  ['42', 42],
  ['NaN', NaN],
  ['true', true],
  ['false', false],
  ["''", ''],
  ["'abc'", 'abc'],
  ["'client'", 'client'],
  ['[]', []],
  ["['client']", ['client']],
  ['an arrow function', () => undefined],
  ['a class', class {}],
  ['a symbol', Symbol('options')],
  ['Object.create(null)', Object.create(null) as unknown],
  ['{ client: null }', { client: null }],
];

/** One request a fake transport saw: its URL and the marker header on it. */
type Seen = ReadonlyArray<readonly [string, string | null]>;

/** An XMLHttpRequest without a network: records what `send` would send. */
function fakeXhr(seen: Array<readonly [string, string | null]>) {
  return class FakeXMLHttpRequest extends EventTarget {
    readyState = 0;
    status = 0;
    private url = '';
    private marker: string | null = null;
    open(_method: string, url: string): void {
      this.url = url;
    }
    setRequestHeader(name: string, value: string): void {
      if (name.toLowerCase() === 'x-gray-id') this.marker = value;
    }
    send(): void {
      seen.push([this.url, this.marker]);
    }
  };
}

/** Requests through `fetch`-shaped `f` to the page's origin and to a third party. */
async function viaFetch(
  f: (input: string, init?: RequestInit) => Promise<unknown>,
  seen: Seen,
): Promise<Seen> {
  await f('/x');
  await f(THIRD);
  return seen;
}

/** How an export is called with `options`, and what it then does that a page would notice. */
interface Api {
  readonly fn: unknown;
  /** `invalid`: INVALID_OPTIONS at the call for every value. `none`: as with no argument. */
  readonly outcome: 'invalid' | 'none';
  readonly observe: (options: unknown) => unknown;
}

const doc = {
  versions: VERSIONS,
  default: 'stable',
  rules: [
    {
      id: 'half',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'attr:anonymousId',
    },
  ],
};
const IDS = Array.from({ length: 24 }, (_, i) => i.toString(16).padStart(32, '0'));

const APIS: readonly Api[] = [
  { fn: main.initGray, outcome: 'invalid', observe: (o) => main.initGray(o as never) },
  {
    fn: remoteEntry.createRemoteRules,
    outcome: 'invalid',
    observe: (o) => remoteEntry.createRemoteRules(o as never),
  },
  {
    fn: main.withGray,
    outcome: 'none',
    observe: (o) => {
      const seen: Array<readonly [string, string | null]> = [];
      const f = main.withGray(async (input, init) => {
        seen.push([String(input), new Headers(init?.headers).get('x-gray-id')]);
        return new Response('');
      }, o as never);
      return viaFetch(f, seen);
    },
  },
  {
    fn: main.installFetch,
    outcome: 'none',
    observe: async (o) => {
      const seen: Array<readonly [string, string | null]> = [];
      vi.stubGlobal('fetch', async (input: string, init?: RequestInit) => {
        seen.push([String(input), new Headers(init?.headers).get('x-gray-id')]);
        return new Response('');
      });
      const uninstall = main.installFetch(o as never);
      try {
        return await viaFetch((i, init) => fetch(i, init), seen);
      } finally {
        uninstall();
      }
    },
  },
  {
    fn: main.installXHR,
    outcome: 'none',
    observe: (o) => {
      const seen: Array<readonly [string, string | null]> = [];
      vi.stubGlobal('XMLHttpRequest', fakeXhr(seen));
      const uninstall = main.installXHR(o as never);
      try {
        for (const url of ['/x', THIRD]) {
          const xhr = new XMLHttpRequest();
          xhr.open('GET', url);
          xhr.setRequestHeader('accept', 'text/plain');
          xhr.send();
        }
        return seen;
      } finally {
        uninstall();
      }
    },
  },
  {
    fn: axiosEntry.attachGray,
    outcome: 'none',
    observe: async (o) => {
      const seen: Array<readonly [string, string | null]> = [];
      const adapter: AxiosAdapter = async (config) => {
        seen.push([String(config.url), (config.headers.get('x-gray-id') as string) ?? null]);
        return { data: '', status: 200, statusText: 'OK', headers: {}, config };
      };
      const instance = axios.create({ adapter });
      const detach = axiosEntry.attachGray(instance, o as never);
      try {
        return await viaFetch((url) => instance.get(url), seen);
      } finally {
        detach();
      }
    },
  },
  {
    fn: main.split,
    outcome: 'none',
    observe: (o) => {
      const rules = main.split({ beta: 50 }, o as never);
      return IDS.map((anonymousId) => rules({ anonymousId, defaultVersion: 'stable' })?.version);
    },
  },
  {
    fn: main.rulesFromConfig,
    outcome: 'none',
    observe: (o) => {
      const rules = main.rulesFromConfig(parseConfig(doc), o as never);
      return IDS.map((anonymousId) => rules({ anonymousId, defaultVersion: 'stable' })?.version);
    },
  },
  {
    // Takes no options: an extra argument changes nothing.
    fn: main.excludePaths,
    outcome: 'none',
    observe: (o) => {
      const exclude = (main.excludePaths as (e: string[], o: unknown) => (u: URL) => boolean)(
        ['/ingest/'],
        o,
      );
      return ['/ingest/e', '/INGEST', '/api/x'].map((p) => exclude(new URL(p, location.href)));
    },
  },
  {
    // Its argument is the js-cookie instance, not options: a value that is not one is a jar
    // whose writes throw, so the page keeps the version in memory (BC-05) — as with none at all.
    fn: main.createJsCookieJar,
    outcome: 'none',
    observe: async (o) => {
      reload();
      const cookies = main.createJsCookieJar(o as never);
      const client = main.initGray({ versions: VERSIONS, default: 'stable', cookies });
      const chose = client.setGrayVersion('beta');
      const seen: Array<readonly [string, string | null]> = [];
      const f = main.withGray(async (input, init) => {
        seen.push([String(input), new Headers(init?.headers).get('x-gray-id')]);
        return new Response('');
      });
      return [chose, client.getGrayVersion(), document.cookie, await viaFetch(f, seen)];
    },
  },
];

/** Exports that are not functions (nothing to call with options). */
const OBJECTS: readonly unknown[] = [regexEntry.re2Engine, jsCookieEntry.jsCookieJar];

beforeEach(() => {
  at('http://localhost/');
  reload();
  // The page's client: every marker it sends is `beta`.
  main.initGray({ versions: VERSIONS, default: 'stable', serverVersion: 'beta' });
});

afterEach(() => {
  vi.unstubAllGlobals();
  clearCookies();
});

describe('I1 / review 69 D1: a non-object options argument, to every export of every entry', () => {
  it('every export of every browser entry has a row', () => {
    const entries = { main, axiosEntry, remoteEntry, jsCookieEntry, regexEntry, standalone };
    const missing = Object.entries(entries).flatMap(([entry, exports]) =>
      Object.entries(exports)
        .filter(([, v]) => !APIS.some((a) => a.fn === v) && !OBJECTS.includes(v))
        .map(([name]) => `${entry}.${name}`),
    );
    expect(missing).toEqual([]);
  });

  const rows = APIS.flatMap((api) =>
    VALUES.map(([label, value]) => [(api.fn as { name: string }).name, label, api, value] as const),
  );

  it.each(rows)(
    '%s(…, %s): as with none, or INVALID_OPTIONS at the call',
    async (_n, _l, api, value) => {
      if (api.outcome === 'invalid') {
        let error: unknown;
        try {
          await api.observe(value);
        } catch (e) {
          error = e;
        }
        expect(isGraylaneError(error) && error.code).toBe('INVALID_OPTIONS');
        return;
      }
      const expected = await api.observe(undefined);
      clearCookies();
      expect(await api.observe(value)).toEqual(expected);
    },
  );

  it('the rows compare against something: without options the page is marked where allowed', async () => {
    const [withGray, installFetch, installXHR, attachGray] = APIS.slice(2, 6);
    for (const api of [withGray, installFetch, installXHR, attachGray])
      expect(await api?.observe(undefined)).toEqual([
        [expect.stringMatching(/\/x$/), 'beta'],
        [THIRD, null],
      ]);
  });
});

/** What plain JS may pass as the `client` option: nothing that is a client. */
const CLIENTS: ReadonlyArray<readonly [string, unknown]> = [
  ['42', 42],
  ["'beta'", 'beta'],
  ['{}', {}],
  ['[]', []],
  ['a function', () => 'beta'],
  ['{ markerFor: 1 }', { markerFor: 1 }],
  ['{ header: {} }', { header: {} }],
  ['Object.create(null)', Object.create(null) as unknown],
];

describe('I1 / review 69 D1: a `client` option that is not a client never breaks a request', () => {
  const transports = APIS.slice(2, 6);
  const rows = transports.flatMap((api) =>
    CLIENTS.map(
      ([label, client]) => [(api.fn as { name: string }).name, label, api, client] as const,
    ),
  );

  it.each(rows)(
    '%s({ client: %s }): every request is sent, none marked',
    async (_n, _l, api, client) => {
      expect(await api.observe({ client })).toEqual([
        [expect.stringMatching(/\/x$/), null],
        [THIRD, null],
      ]);
    },
  );
});
