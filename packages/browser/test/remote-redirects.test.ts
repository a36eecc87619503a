// @vitest-environment node
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRemoteRules, type RulesFetch } from '../src/remote.js';

// RDR-01 for the rules request of @graylane/browser/remote, over real loopback servers and Node's
// own fetch (the code path the page takes; test/chromium/remote-redirects.test.ts runs the same
// table in Chromium). The rules URL must answer itself: a redirect, to any origin, is not
// followed, so the caller's headers (an API key) never reach the `Location` and that origin's
// rules never apply. The last good document stays (I5) and `status()` says why.

const doc = (id: string) =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });
const INITIAL = JSON.parse(doc('initial')) as unknown;

interface Hit {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** A loopback server answering `/rules` with `redirect` (or the document) and anything else with rules `id`. */
async function server(id: string): Promise<{ origin: string; hits: Hit[]; server: Server }> {
  const hits: Hit[] = [];
  const s = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.push({ path, headers: req.headers });
    if (path === '/rules' && redirect)
      return void res.writeHead(redirect.status, { location: redirect.location() }).end();
    res.writeHead(200, { 'content-type': 'application/json', etag: `"${id}"` }).end(doc(id));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, hits, server: s };
}

let redirect: { status: number; location: () => string } | undefined;
let a: Awaited<ReturnType<typeof server>>;
let b: Awaited<ReturnType<typeof server>>;

beforeAll(async () => {
  [a, b] = await Promise.all([server('same-origin-hop'), server('other-origin')]);
});
afterAll(() => {
  for (const s of [a, b]) {
    s.server.closeAllConnections();
    s.server.close();
  }
});
beforeEach(() => {
  redirect = undefined;
  a.hits.length = 0;
  b.hits.length = 0;
});

const TARGETS = {
  'same origin, relative Location': () => '/moved',
  'same origin, absolute Location': () => `${a.origin}/moved`,
  'other port': () => `${b.origin}/steal`,
  'other host name (localhost, same port)': () =>
    `${a.origin.replace('127.0.0.1', 'localhost')}/steal`,
} as const;
const HEADERS = {
  'no custom headers': undefined,
  'an API key': { 'x-api-key': 'SECRET-123' },
} as const;

/** Node's fetch as it comes, or a wrapper that insists on following (an injected `fetch`). */
const following: RulesFetch = (url, init) => fetch(url, { ...init, redirect: 'follow' });

describe('RDR-01 remote rules: the rules URL must answer itself', () => {
  it('control: a direct 200 is adopted (the table below could fail)', async () => {
    const r = createRemoteRules({ url: `${a.origin}/rules`, initial: INITIAL, storageKey: false });
    await r.refresh();
    expect(r.config()?.rules[0]?.id).toBe('same-origin-hop');
    expect(r.status().state).toBe('ready');
  });

  const rows = [301, 302, 303, 307, 308].flatMap((status) =>
    Object.entries(TARGETS).flatMap(([target, location]) =>
      Object.entries(HEADERS).map(
        ([auth, headers]) => [status, target, auth, location, headers] as const,
      ),
    ),
  );
  it.each(rows)(
    'RDR-01 %i to %s, %s: not followed, nothing sent on, last good rules kept',
    async (status, _target, _with, location, headers) => {
      redirect = { status, location };
      const r = createRemoteRules({
        url: `${a.origin}/rules`,
        initial: INITIAL,
        storageKey: false,
        retries: 2,
        ...(headers ? { headers } : {}),
      });
      await r.refresh();
      // One request, to the rules URL itself; no hop anywhere, so no header went anywhere else.
      expect(a.hits.map((h) => h.path)).toEqual(['/rules']);
      expect(b.hits).toEqual([]);
      if (headers) expect(a.hits[0]?.headers['x-api-key']).toBe('SECRET-123');
      expect(r.config()?.rules[0]?.id).toBe('initial');
      expect(r.status()).toMatchObject({
        state: 'error',
        lastError: 'redirect not followed',
      });
    },
  );

  it.each([301, 302, 303, 307, 308])(
    'RDR-01 %i to another origin through an injected fetch that follows anyway: its rules are not adopted',
    async (status) => {
      redirect = { status, location: TARGETS['other port'] };
      const r = createRemoteRules({
        url: `${a.origin}/rules`,
        initial: INITIAL,
        storageKey: false,
        fetch: following,
      });
      await r.refresh();
      expect(b.hits.map((h) => h.path)).toEqual(['/steal']);
      expect(r.config()?.rules[0]?.id).toBe('initial');
      expect(r.status().lastError).toBe('redirect not followed');
    },
  );
});
