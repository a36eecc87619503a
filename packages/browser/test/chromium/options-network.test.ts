import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE, serve, type TestServer } from './harness.js';

// Review 69 D1 and D4 in real Chromium, where a page's network is the browser's.
// - D1: `installFetch(null)`, `installXHR(null)`, `withGray(fetch, null)` were accepted, and then
//   every fetch / XHR of the page threw `TypeError: Cannot read properties of null`. For every
//   network export and every such argument, the page's own fetch and XHR, and the export's own
//   request, now go through, marked exactly when the argument is as good as none. (Every export
//   of every entry, without a network: ../options-arguments.test.ts.)
// - D4: `initGray({ header })` takes exactly the names Chromium takes: for every character code
//   0–255 and a few beyond, init accepts `X<c>Gray` iff `Headers#set` and
//   `XMLHttpRequest#setRequestHeader` accept it (RFC 9110 token), and then the server receives the
//   marker under it; every other name throws INVALID_OPTIONS instead of being accepted and then
//   silently never sent.

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta'];

let sdk = '';
/** Every request the server saw: path and raw header pairs. */
const raw: Array<{ path: string; headers: string[] }> = [];

function handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (url.pathname === '/sdk.js')
    return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
  if (url.pathname === '/')
    return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  raw.push({ path: url.pathname, headers: req.rawHeaders });
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
}

const APIS = [
  'installFetch',
  'installXHR',
  'withGray',
  'attachGray (xhr adapter)',
  'attachGray (fetch adapter)',
] as const;

/**
 * [label, marked like no argument at all?]; the values are made in the page, in this order (the
 * whole sweep of values, without a network: ../options-arguments.test.ts).
 */
const VALUES: ReadonlyArray<readonly [string, boolean]> = [
  ['null', true],
  ["'abc'", true],
  ['{ client: 42 }', false],
  ['{ client: {} }', false],
];

describe.skipIf(!run)('Chromium: options that are not options (review 69 D1, D4)', () => {
  let browser: Browser;
  let page: Page;
  let app: TestServer;
  beforeAll(async () => {
    [browser, sdk, app] = await Promise.all([launch(), bundleSdk(), serve('127.0.0.1', handle)]);
    page = await (await browser.newContext()).newPage();
    await page.goto(`${app.origin}/`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  beforeEach(() => {
    app.seen.length = 0;
    raw.length = 0;
  });

  const rows = APIS.flatMap((api) => VALUES.map((v) => [api, ...v] as const));

  it.each(rows)(
    'D1 %s(%s): the page’s fetch, XHR and the call’s own request go through',
    async (api, label, asNone) => {
      const index = VALUES.findIndex(([l]) => l === label);
      const id = `${APIS.indexOf(api)}-${index}`;
      const outcome = await page.evaluate(
        async ([api, index, id, versions]) => {
          const g = globalThis.graylane;
          g.initGray({ versions, default: 'stable', serverVersion: 'beta' });
          const values: unknown[] = [null, 'abc', { client: 42 }, { client: {} }];
          const options = values[index] as never;
          const out: Record<string, unknown> = {};
          const undo: Array<() => void> = [];
          let own: (() => Promise<unknown>) | undefined;
          try {
            if (api === 'installFetch') undo.push(g.installFetch(options));
            else if (api === 'installXHR') undo.push(g.installXHR(options));
            else if (api === 'withGray') {
              const f = g.withGray(undefined, options);
              own = () => f(`/own/${id}`).then((r) => r.status);
            } else {
              const instance = g.axios.create({ adapter: api.includes('xhr') ? 'xhr' : 'fetch' });
              undo.push(g.attachGray(instance, options));
              own = () => instance.get(`/own/${id}`).then((r) => r.status);
            }
            out['call'] = 'ok';
          } catch (e) {
            out['call'] = (e as { code?: string }).code ?? String(e);
          }
          // A throw, sync or async, is the row's outcome (and never leaves the page patched).
          const status = async (p: () => Promise<unknown>) => {
            try {
              return await p();
            } catch (e) {
              return String((e as Error)?.message ?? e);
            }
          };
          out['fetch'] = await status(() => fetch(`/fetch/${id}`).then((r) => r.status));
          out['xhr'] = await status(
            () =>
              new Promise((resolve) => {
                const xhr = new XMLHttpRequest();
                xhr.open('GET', `/xhr/${id}`);
                xhr.setRequestHeader('accept', 'text/plain');
                xhr.onloadend = () => resolve(xhr.status);
                xhr.send();
              }),
          );
          try {
            if (own) out['own'] = await status(own);
            return out;
          } finally {
            for (const u of undo) u();
          }
        },
        [api, index, id, VERSIONS] as const,
      );
      const marker = (path: string) =>
        app.seen.filter((s) => s.path === path).map((s) => s.marker ?? null);
      const marked = (yes: boolean) => [yes && asNone ? 'beta' : null];
      const own = api.startsWith('installXHR') || api === 'installFetch' ? {} : { own: 200 };
      expect(outcome).toEqual({ call: 'ok', fetch: 200, xhr: 200, ...own });
      expect({
        fetch: marker(`/fetch/${id}`),
        xhr: marker(`/xhr/${id}`),
        own: marker(`/own/${id}`),
      }).toEqual({
        fetch: marked(api === 'installFetch'),
        xhr: marked(api === 'installXHR'),
        own: 'own' in own ? marked(true) : [],
      });
    },
  );

  // Every Latin-1 character, then a few beyond (not ByteStrings: the browser refuses them too).
  const CHARS = [...Array.from({ length: 256 }, (_, c) => c), 0x100, 0x200b, 0xd800, 0x1f680];
  /** What Chromium, initGray and the server did with the name `X<c>Gray`, per code. */
  let verdicts: Record<
    number,
    { browser: boolean; gray: string; sent: string | undefined; received?: string[] }
  >;

  beforeAll(async () => {
    verdicts = await page.evaluate(
      async ([codes, versions]) => {
        const out: Record<number, { browser: boolean; gray: string; sent: string | undefined }> =
          {};
        for (const code of codes) {
          const name = `X${String.fromCodePoint(code)}Gray`;
          let fetchOk = true;
          let xhrOk = true;
          try {
            new Headers().set(name, 'beta');
          } catch {
            fetchOk = false;
          }
          try {
            const xhr = new XMLHttpRequest();
            xhr.open('GET', '/never-sent');
            xhr.setRequestHeader(name, 'beta');
          } catch {
            xhrOk = false;
          }
          let gray = 'accepted';
          try {
            globalThis.graylane.initGray({
              versions,
              default: 'stable',
              serverVersion: 'beta',
              header: name,
            });
          } catch (e) {
            gray = (e as { code?: string }).code ?? String(e);
          }
          let sent: string | undefined;
          if (gray === 'accepted')
            sent = String((await globalThis.graylane.withGray()(`/header/${code}`)).status);
          out[code] = { browser: fetchOk && xhrOk, gray, sent };
        }
        return out;
      },
      [CHARS, VERSIONS] as const,
    );
    // What arrived under the name (header names are case-insensitive), per accepted code.
    for (const { path, headers } of raw) {
      const code = Number(path.split('/')[2]);
      const name = `X${String.fromCodePoint(code)}Gray`.toLowerCase();
      const v = verdicts[code];
      if (v && path.startsWith('/header/'))
        v.received = headers.filter((_, i) => i % 2 == 1 && headers[i - 1]?.toLowerCase() === name);
    }
  }, 60_000);

  it('D4 premise: Chromium takes exactly the RFC 9110 tchars', () => {
    const taken = CHARS.filter((c) => verdicts[c]?.browser).map((c) => String.fromCodePoint(c));
    expect(taken.join('')).toBe(
      "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~",
    );
  });

  it.each(CHARS.map((c) => [c.toString(16).padStart(2, '0'), c] as const))(
    'D4 header X\\u{%s}Gray: accepted exactly when Chromium takes it, and then sent',
    (_hex, code) => {
      const v = verdicts[code];
      if (!v?.browser) expect(v).toEqual({ browser: false, gray: 'INVALID_OPTIONS' });
      // Accepted: the marker arrives under that name, once.
      else expect(v).toEqual({ browser: true, gray: 'accepted', sent: '200', received: ['beta'] });
    },
  );
});

// Review 69: a header name that is a token but one Chromium's fetch and XHR never send (Fetch's
// forbidden request-header names) was accepted, and the marker silently never went. Premise read
// from Chromium itself: each name is sent by plain fetch and XHR, and the server says whether it
// arrived. initGray refuses exactly the names that never arrive; the others arrive under it.
const NAMES = [
  ...['Accept-Charset', 'Accept-Encoding', 'Access-Control-Request-Headers'],
  ...['Access-Control-Request-Method', 'Connection', 'Content-Length', 'Cookie', 'COOKIE'],
  ...['Cookie2', 'Date', 'DNT', 'Expect', 'Host', 'Keep-Alive', 'Origin', 'Referer'],
  ...['Set-Cookie', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Via', 'Sec-Gray'],
  ...['sec-fetch-gray', 'Proxy-Gray', 'Proxy-Authorization'],
  // Near them, and a page may send them.
  ...['X-Gray-Id', 'X-Sec-Gray', 'Secgray', 'Proxyish', 'Cookies', 'X-Cookie', 'Hostname'],
  ...['Dates', 'Tes', 'X-Via', 'Origin-Gray', 'Accept', 'Authorization'],
  // Off Fetch's list since 2015, yet Chromium still never sends a page's own.
  'User-Agent',
];

describe.skipIf(!run)('Chromium: header names a page may not set (review 69)', () => {
  let browser: Browser;
  let page: Page;
  let app: TestServer;
  /** Per name: arrived by plain fetch, by XHR, what initGray said, and arrived under initGray. */
  let verdicts: Array<{ fetch: boolean; xhr: boolean; gray: string; marked: boolean }>;

  beforeAll(async () => {
    [browser, sdk, app] = await Promise.all([launch(), bundleSdk(), serve('127.0.0.1', handle)]);
    page = await (await browser.newContext()).newPage();
    await page.goto(`${app.origin}/`);
    raw.length = 0;
    const grays = await page.evaluate(
      async ([names, versions]) => {
        const out: string[] = [];
        for (const [i, name] of names.entries()) {
          await fetch(`/plain-fetch/${i}`, { headers: [[name, 'beta']] });
          await new Promise((done) => {
            const xhr = new XMLHttpRequest();
            xhr.open('GET', `/plain-xhr/${i}`);
            xhr.setRequestHeader(name, 'beta');
            xhr.onloadend = done;
            xhr.send();
          });
          let gray = 'accepted';
          try {
            globalThis.graylane.initGray({
              versions,
              default: 'stable',
              serverVersion: 'beta',
              header: name,
            });
          } catch (e) {
            gray = (e as { code?: string }).code ?? String(e);
          }
          if (gray === 'accepted') await globalThis.graylane.withGray()(`/gray/${i}`);
          out.push(gray);
        }
        return out;
      },
      [NAMES, VERSIONS] as const,
    );
    /** Whether `beta` arrived under the name on the request to `path`. */
    const arrived = (path: string, name: string) => {
      const seen = raw.find((r) => r.path === path);
      return (
        seen?.headers.some(
          (h, i) =>
            i % 2 == 0 && h.toLowerCase() === name.toLowerCase() && seen.headers[i + 1] === 'beta',
        ) ?? false
      );
    };
    verdicts = NAMES.map((name, i) => ({
      fetch: arrived(`/plain-fetch/${i}`, name),
      xhr: arrived(`/plain-xhr/${i}`, name),
      gray: grays[i]!,
      marked: arrived(`/gray/${i}`, name),
    }));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('premise: Chromium drops the forbidden names, and only those, from fetch and XHR', () => {
    const dropped = NAMES.filter((_, i) => !verdicts[i]!.fetch && !verdicts[i]!.xhr);
    const agree = NAMES.filter((_, i) => verdicts[i]!.fetch === verdicts[i]!.xhr);
    expect(agree).toEqual(NAMES);
    expect(dropped).toEqual([...NAMES.slice(0, NAMES.indexOf('X-Gray-Id')), 'User-Agent']);
  });

  it.each(NAMES.map((n, i) => [n, i] as const))(
    '%s: refused exactly when Chromium never sends it, else the marker arrives under it',
    (_name, i) => {
      const v = verdicts[i]!;
      if (!v.fetch) expect(v).toMatchObject({ gray: 'INVALID_OPTIONS', marked: false });
      else expect(v).toMatchObject({ gray: 'accepted', marked: true });
    },
  );
});
