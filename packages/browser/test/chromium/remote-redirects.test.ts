import type {} from './page-entry.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, pageSuite, serve, type TestServer } from './harness.js';

// RDR-01 for the rules request of @graylane/browser/remote in real Chromium, with three loopback
// origins: the page's (A), a CORS-enabled rules host (B) and a third party (C). Whether the rules
// URL is the page's own or B, a 301/302/303/307/308 from it — to its own origin or to C — is not
// followed: C never sees a request (not even a preflight), the caller's API key goes nowhere but
// the rules URL, the last good rules stay and `status()` says why.

const run = chromiumAvailable();

const doc = (id: string) =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });

interface Hit {
  readonly method: string;
  readonly path: string;
  readonly apiKey: string | undefined;
}

describe.skipIf(!run)('Chromium: remote rules never follow a redirect (RDR-01)', () => {
  let redirect: { status: number; location: () => string } | undefined;
  const hits: Record<'A' | 'B' | 'C', Hit[]> = { A: [], B: [], C: [] };

  /** Records the request; CORS open to anyone (so only graylane can stop a hop); `/rules` redirects. */
  const handler =
    (name: 'A' | 'B' | 'C') =>
    (req: IncomingMessage, res: ServerResponse, url: URL): void => {
      if (url.pathname === '/page')
        return void res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><script src="/sdk.js"></script>');
      if (url.pathname === '/favicon.ico') return void res.writeHead(404).end();
      const key = req.headers['x-api-key'];
      hits[name].push({
        method: req.method ?? '',
        path: url.pathname,
        apiKey: Array.isArray(key) ? key.join() : key,
      });
      const cors = {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*',
        'access-control-allow-methods': 'GET',
      };
      if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
      if (url.pathname === '/rules' && redirect)
        return void res
          .writeHead(redirect.status, { ...cors, location: redirect.location() })
          .end();
      res
        .writeHead(200, { ...cors, 'content-type': 'application/json' })
        .end(doc(`${name}-${url.pathname.slice(1)}`));
    };

  const suite = pageSuite(handler('A'));
  let b: TestServer;
  let c: TestServer;
  beforeAll(async () => {
    [b, c] = await Promise.all([
      serve('127.0.0.1', handler('B')),
      serve('127.0.0.1', handler('C')),
    ]);
  });
  afterAll(async () => {
    await Promise.all([b?.close(), c?.close()]);
  });
  beforeEach(() => {
    redirect = undefined;
    for (const list of Object.values(hits)) list.length = 0;
  });

  /** On a page of A: remote rules from `url` (nothing stored) refresh once; what is in force, and why. */
  async function poll(url: string, headers: Record<string, string> | undefined) {
    if (!suite.page.url().startsWith(suite.app.origin))
      await suite.page.goto(`${suite.app.origin}/page`);
    return suite.page.evaluate(
      async ([url, headers]) => {
        const remote = globalThis.graylane.createRemoteRules({
          url,
          initial: {
            versions: ['stable', 'beta'],
            default: 'stable',
            rules: [{ id: 'initial', version: 'beta' }],
          },
          refreshMs: 0,
          retries: 1,
          storageKey: false,
          ...(headers ? { headers } : {}),
        });
        await remote.refresh();
        return { id: remote.config()?.rules[0]?.id, status: remote.status() };
      },
      [url, headers] as const,
    );
  }

  const RULES = { "the page's origin": () => suite.app.origin, 'a CORS origin': () => b.origin };
  const KEY = { 'x-api-key': 'SECRET-123' };

  it.each(Object.entries(RULES))(
    'control: %s answering 200 directly is adopted',
    async (_w, at) => {
      const origin = at();
      expect(await poll(`${origin}/rules`, KEY)).toMatchObject({
        id: `${origin === b.origin ? 'B' : 'A'}-rules`,
        status: { state: 'ready' },
      });
    },
  );

  // One page (one fresh browser context) per status code; its eight variants run in turn.
  const VARIANTS = Object.entries(RULES).flatMap(([where, at]) =>
    (['its own origin', 'a third origin'] as const).flatMap((to) =>
      [KEY, undefined].map((headers) => ({ where, at, to, headers })),
    ),
  );
  it.each([301, 302, 303, 307, 308])(
    `RDR-01 %i from the page's origin or a CORS origin, to its own origin or a third, with and without an API key (${VARIANTS.length} variants): not followed, nothing sent on, last good rules kept`,
    async (status) => {
      for (const { where, at, to, headers } of VARIANTS) {
        const label = `${status} from ${where} to ${to}, ${headers ? 'an API key' : 'no custom headers'}`;
        const origin = at();
        for (const list of Object.values(hits)) list.length = 0;
        redirect = {
          status,
          location: () => (to === 'its own origin' ? `${origin}/moved` : `${c.origin}/steal`),
        };
        const { id, status: state } = await poll(`${origin}/rules`, headers);
        const rulesHost = origin === b.origin ? hits.B : hits.A;
        // One request, to the rules URL itself (B: after a preflight for the key); no hop anywhere.
        expect(
          rulesHost.map((h) => [h.method, h.path, h.apiKey]),
          label,
        ).toEqual([
          ...(headers && origin === b.origin ? [['OPTIONS', '/rules', undefined]] : []),
          ['GET', '/rules', headers?.['x-api-key']],
        ]);
        expect(hits.C, label).toEqual([]);
        expect(id, label).toBe('initial');
        expect(state, label).toMatchObject({
          state: 'error',
          lastError: 'redirect not followed',
        });
      }
    },
  );
});
