import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE, serve, type TestServer } from './harness.js';

// Review 69 D2 (after review 156 N2) in real Chromium: `attachGray` on axios' fetch adapter with
// `fetchOptions: { mode: 'no-cors' }` to an allowlisted cross-origin API sent the request twice.
// graylane marked it (the browser drops the header in no-cors anyway); the response to any
// cross-origin no-cors request is opaque, status 0, which graylane took for the opaque redirect of
// its own probe and re-sent plain; a network failure was re-sent too. Now no-cors is left alone in
// the axios path entirely, as `withGray` leaves it: each row sends the same request through a
// plain axios instance and through one with `attachGray`, and the server must see the same
// requests — one per hop, no header — and the caller the same outcome.

const run = chromiumAvailable();

/** How the instance picks the fetch adapter. */
const ADAPTERS = ['fetch', "['fetch', 'xhr']", 'a function calling the fetch adapter'] as const;
/** What the first hop answers: 200, a redirect to `/to/…`, 500, or no response at all. */
const KINDS = ['ok', 'redirect', 'error', 'drop'] as const;

let sdk = '';

function handle(_req: IncomingMessage, res: ServerResponse, url: URL): void {
  // Never a reused connection: Chromium itself retries a request dropped on a reused one.
  res.setHeader('connection', 'close');
  const [, kind, name] = url.pathname.split('/');
  if (url.pathname === '/sdk.js')
    return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
  if (url.pathname === '/')
    return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  if (kind === 'redirect') return void res.writeHead(302, { location: `/to/${name}` }).end();
  if (kind === 'error') return void res.writeHead(500).end('no');
  if (kind === 'drop') return void res.socket?.destroy();
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
}

describe.skipIf(!run)(
  'Chromium: axios no-cors requests are sent once, as written (review 69 D2)',
  () => {
    let browser: Browser;
    let page: Page;
    let app: TestServer;
    let api: TestServer;
    beforeAll(async () => {
      [browser, sdk, app, api] = await Promise.all([
        launch(),
        bundleSdk(),
        serve('127.0.0.1', handle),
        serve('localhost', handle),
      ]);
      // One page for every row: each row makes its own instances and paths.
      page = await (await browser.newContext()).newPage();
      await page.goto(`${app.origin}/`);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await Promise.all([app?.close(), api?.close()]);
    });
    beforeEach(() => {
      app.seen.length = 0;
      api.seen.length = 0;
    });

    const rows = [
      ...KINDS.map((kind) => ['cross-origin, allowlisted', kind] as const),
      // Same origin answers no-cors with a plain response; only a failure was re-sent there.
      ['same origin', 'drop'] as const,
    ].flatMap(([where, kind]) =>
      (['GET', 'HEAD'] as const).flatMap((method) =>
        ADAPTERS.map((adapter) => [where, kind, method, adapter] as const),
      ),
    );

    it.each(rows)('%s, %s, %s, adapter %s', async (where, kind, method, adapter) => {
      const origin = where === 'same origin' ? app.origin : api.origin;
      const name = `${kind}-${method}-${ADAPTERS.indexOf(adapter)}`;
      const outcome = await page.evaluate(
        async ([apiOrigin, url, method, adapter]) => {
          const { axios, attachGray, initGray } = globalThis.graylane;
          initGray({
            versions: ['stable', 'beta'],
            default: 'stable',
            serverVersion: 'beta',
            allow: [apiOrigin],
          });
          const out: Record<string, unknown> = {};
          for (const run of ['plain', 'gray']) {
            const instance = axios.create({
              adapter:
                adapter === 'fetch'
                  ? 'fetch'
                  : adapter.startsWith('[')
                    ? ['fetch', 'xhr']
                    : (config) => axios.getAdapter('fetch')(config),
            });
            if (run === 'gray') attachGray(instance);
            try {
              const r = await instance.request({
                url: `${url}-${run}`,
                method,
                fetchOptions: { mode: 'no-cors' },
              });
              out[run] = r.status;
            } catch (e) {
              out[run] = (e as { code?: string }).code;
            }
          }
          return out;
        },
        [api.origin, `${origin}/${kind}/${name}`, method, adapter] as const,
      );
      const server = where === 'same origin' ? app : api;
      const hits = (path: string): Array<string | null> =>
        server.seen.filter((s) => s.path === path).map((s) => s.marker ?? null);
      const sent = (run: string) => ({
        outcome: outcome[run],
        first: hits(`/${kind}/${name}-${run}`),
        next: hits(`/to/${name}-${run}`),
      });
      // As written: one request per hop, no header (the browser drops it in no-cors).
      expect(sent('plain')).toMatchObject({
        first: [null],
        next: kind === 'redirect' ? [null] : [],
      });
      expect(sent('gray')).toEqual(sent('plain'));
    });
  },
);
