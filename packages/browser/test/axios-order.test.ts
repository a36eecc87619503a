// @vitest-environment happy-dom
import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type InternalAxiosRequestConfig,
} from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attachGray } from '../src/axios.js';
import { takePlainXhr } from '../src/plain.js';
import { at, initOnReload as initGray } from './page.js';

// CTX-14 / I8 for attachGray: the header decision is made on the final target, after every
// request interceptor. axios runs interceptors registered *before* attachGray after graylane's
// own (its default, `transitional.legacyInterceptorReqResOrdering: true`), and those registered
// after it later when that flag is false; either way an interceptor graylane's interceptor cannot
// see may move the request (baseURL, url, allowAbsoluteUrls, a new config object). A custom
// adapter records what it is handed: the final config, after transformRequest, as axios's own
// adapters get it. The page is http://localhost; allowlisted: https://api.example.com.
// (Real xhr/fetch adapters in Chromium: test/chromium/redirects.test.ts.)

const API = 'https://api.example.com';
const detach: Array<() => void> = [];

beforeEach(() => at('http://localhost/'));
afterEach(() => {
  for (const d of detach.splice(0)) d();
});

interface Seen {
  readonly url: string;
  readonly marker: string | undefined;
  readonly redirect: unknown;
}

/** An adapter that records the request it would send (URL resolved as axios's adapters do). */
function recorder(instance: () => AxiosInstance, seen: Seen[]): AxiosAdapter {
  return async (config: InternalAxiosRequestConfig) => {
    seen.push({
      url: new URL(instance().getUri(config), location.href).href,
      marker: config.headers.get('X-Gray-Id') as string | undefined,
      redirect: (config.fetchOptions as RequestInit | undefined)?.redirect,
    });
    return { data: '', status: 200, statusText: 'OK', headers: {}, config };
  };
}

type Move = (c: InternalAxiosRequestConfig) => InternalAxiosRequestConfig;

// [what the late interceptor does, the caller's url and baseURL, the marker expected, the final URL]
const MOVES: ReadonlyArray<[string, Move, string, string | undefined, string | undefined, string]> =
  [
    [
      'baseURL to another host',
      (c) => ((c.baseURL = 'https://evil.example/'), c),
      '/v1',
      undefined,
      undefined,
      'https://evil.example/v1',
    ],
    [
      'url to an absolute other host',
      (c) => ((c.url = 'https://evil.example/v1'), c),
      '/v1',
      API,
      undefined,
      'https://evil.example/v1',
    ],
    [
      'url to protocol-relative //evil',
      (c) => ((c.url = '//evil.example/v1'), c),
      '/v1',
      undefined,
      undefined,
      'http://evil.example/v1',
    ],
    [
      'allowAbsoluteUrls false under an other-host baseURL',
      (c) => ((c.baseURL = 'https://evil.example'), (c.allowAbsoluteUrls = false), c),
      `${API}/v1`,
      undefined,
      undefined,
      'https://evil.example/https://api.example.com/v1',
    ],
    [
      'a new config object pointing elsewhere',
      (c) => ({ ...c, url: 'https://evil.example/v1' }) as InternalAxiosRequestConfig,
      '/v1',
      undefined,
      undefined,
      'https://evil.example/v1',
    ],
    [
      'baseURL downgraded to http:',
      (c) => ((c.baseURL = 'http://api.example.com'), c),
      '/v1',
      API,
      undefined,
      'http://api.example.com/v1',
    ],
    [
      'an other-host URL moved back to the allowlisted API',
      (c) => ((c.url = `${API}/v1`), c),
      'https://evil.example/v1',
      undefined,
      'beta',
      'https://api.example.com/v1',
    ],
    [
      'an other-host baseURL moved to the page itself',
      (c) => ((c.baseURL = '/'), c),
      'v1',
      'https://evil.example/',
      'beta',
      'http://localhost/v1',
    ],
  ];

describe('CTX-14 attachGray decides on the final request, after every interceptor', () => {
  const rows = (['instance', 'default axios'] as const).flatMap((on) =>
    (
      ['registered before (legacy order)', 'registered after (registration order)'] as const
    ).flatMap((when) =>
      ([true, false] as const).flatMap((synchronous) =>
        MOVES.map(([move, fn, url, baseURL, expected, final]) => ({
          on,
          when,
          synchronous,
          move,
          fn,
          url,
          baseURL,
          expected,
          final,
        })),
      ),
    ),
  );

  it.each(rows)(
    'CTX-14 I8 $on, late interceptor $when, synchronous $synchronous: $move → $expected',
    async ({ on, when, synchronous, fn, url, baseURL, expected, final }) => {
      initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        serverVersion: 'beta',
        allow: [API],
      });
      const seen: Seen[] = [];
      const legacy = when.startsWith('registered before');
      const instance = on === 'instance' ? axios.create() : axios;
      const saved = { ...instance.defaults };
      instance.defaults.adapter = recorder(() => instance, seen);
      instance.defaults.transitional = {
        ...saved.transitional,
        legacyInterceptorReqResOrdering: legacy,
      };
      detach.push(() => Object.assign(instance.defaults, saved));
      const late = (): void => {
        const id = instance.interceptors.request.use(fn, undefined, { synchronous });
        detach.push(() => instance.interceptors.request.eject(id));
      };
      if (legacy) late();
      detach.push(attachGray(instance));
      if (!legacy) late();
      await instance.request(baseURL === undefined ? { url } : { url, baseURL });
      expect(seen).toStrictEqual([
        { url: final, marker: expected, redirect: expected && 'manual' },
      ]);
    },
  );
});

// I1: an app's response interceptor registered before attachGray runs first, and the common one
// unwraps the response (`r => r.data`). graylane's read `res.config` of what it got and threw
// "Cannot read properties of undefined" on every request through the instance (null.config on a
// null body), marked or not, with no redirect in sight.
describe('I1 attachGray after an app interceptor that unwraps responses', () => {
  const BODIES: ReadonlyArray<[string, unknown, number]> = [
    ['a JSON object', { ok: 1 }, 200],
    ['null (a 204)', null, 204],
    ['an empty string', '', 200],
    ['a number', 7, 200],
    [
      'an object whose config mimics a marked one, status 0',
      { config: { graylaneSent: { header: 'X-Gray-Id' } }, status: 0 },
      200,
    ],
  ];
  const rows = BODIES.flatMap(([what, data, status]) =>
    (['/same-origin', `${API}/v1`, 'https://evil.example/v1'] as const).map((url) => ({
      what,
      data,
      status,
      url,
    })),
  );
  it.each(rows)(
    '$what from $url: the app gets its unwrapped body',
    async ({ data, status, url }) => {
      initGray({
        versions: ['stable', 'beta'],
        default: 'stable',
        serverVersion: 'beta',
        allow: [API],
      });
      const calls: string[] = [];
      const instance = axios.create({
        adapter: async (config: InternalAxiosRequestConfig) => {
          calls.push(String(config.headers.get('X-Gray-Id') ?? '-'));
          return { data, status, statusText: '', headers: {}, config };
        },
      });
      instance.interceptors.response.use((r) => r.data as never);
      detach.push(attachGray(instance));
      await expect(instance.get(url)).resolves.toStrictEqual(data);
      // Sent once, marked where the target is allowlisted.
      expect(calls).toEqual([url.startsWith('https://evil') ? '-' : 'beta']);
    },
  );
});

describe('RDR-03 the plain re-send through an app adapter function (review 104 F6)', () => {
  it('no XHR flag is left for an unrelated request: an adapter function may open none at once', async () => {
    initGray({ versions: ['stable', 'beta'], default: 'stable', serverVersion: 'beta' });
    const seen: Array<[boolean, string | undefined]> = [];
    const instance = axios.create({
      adapter: async (config: InternalAxiosRequestConfig) => {
        // What an XHR opened now (by this adapter or anyone) would take as graylane's re-send.
        seen.push([takePlainXhr(), config.headers.get('X-Gray-Id') as string | undefined]);
        // The fetch adapter's answer to graylane's redirect: 'manual' probe: an opaque redirect.
        return {
          data: '',
          status: seen.length === 1 ? 0 : 200,
          statusText: '',
          headers: {},
          config,
        };
      },
    });
    detach.push(attachGray(instance));
    const res = await instance.get('/x');
    expect(res.status).toBe(200);
    expect(seen).toEqual([
      [false, 'beta'],
      [false, undefined],
    ]);
  });
});
