import type { Server } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { graylaneHono as nodeHono } from '@graylane/node/hono';
import { graylaneHono as webHono } from '@graylane/web/hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.js';

/*
 * GW-02 (review 64 N1): a `#` in a request target. Browsers never send one, but @hono/node-server
 * (like Bun and Deno) keeps it in the `Request`'s URL, and `@graylane/node` reads it as the start
 * of the query (node.md): a marker after it is judged and, in `edge` and `signed` mode, removed.
 * The old `@graylane/web/hono` read only the URL's query, so `/d#?gray=beta` kept its marker in
 * `c.req.url` for a proxy that splits at the first `?`. Every row: raw HTTP to the same app
 * behind `@graylane/web/hono` and behind `@graylane/node/hono` on @hono/node-server; the handler
 * must see the same decision, URL and `c.req.query('gray')` from both, and in `edge`/`signed`
 * mode no `gray` in the URL. Rows without a `#` are controls.
 */

const KEY = 'a-web-signing-key-of-32-bytes!!!';
const MODES = {
  open: {},
  edge: { trust: 'edge', trustedProxies: ['203.0.113.10'] },
  signed: { trust: 'signed', keys: { k1: KEY } },
} as const;
type Mode = keyof typeof MODES;

const TARGETS: [string, boolean][] = [
  ['/d#?gray=beta', true],
  ['/d#gray=beta', true],
  ['/d#?a=1&gray=beta', true],
  ['/d?a=1#gray=beta', true],
  ['/d?a=1#x&gray=beta', true],
  ['/d#x#gray=beta', true],
  ['/d#?GRAY=beta', true],
  ['/d#?gray%5B%5D=beta', true],
  ['/d#?gray=beta&gray=beta', true],
  ['/d#;gray=beta', true],
  ['/d??gray=beta', true],
  ['/d?gray=beta', false],
  ['/d?a=1&b=2', false],
  ['/d#frag', false],
];

const servers = new Map<string, { port: number }>();
const closers: Server[] = [];

function app(mw: (c: never, next: () => Promise<void>) => Promise<void>): Hono {
  const a = new Hono();
  a.use(mw as never);
  a.all('*', (c) =>
    c.json({
      version: (c.get as (k: string) => unknown)('grayVersion') ?? null,
      url: c.req.url,
      query: c.req.query('gray') ?? null,
    }),
  );
  return a;
}

beforeAll(async () => {
  for (const [mode, opts] of Object.entries(MODES)) {
    const options = { config: { versions: ['stable', 'beta'], default: 'stable' }, ...opts };
    for (const [name, hono] of [
      ['web', app(webHono(options as Parameters<typeof webHono>[0]) as never)],
      ['node', app(nodeHono(options as Parameters<typeof nodeHono>[0]) as never)],
    ] as const) {
      // (The node adapter sets no `grayVersion`: only the web rows assert a version.)
      const server = createAdaptorServer({ fetch: hono.fetch }) as unknown as Server;
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      closers.push(server);
      const address = server.address();
      servers.set(`${mode}/${name}`, {
        port: typeof address === 'object' && address ? address.port : 0,
      });
    }
  }
});
afterAll(async () => {
  await Promise.all(closers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function see(mode: Mode, name: 'web' | 'node', target: string) {
  const answer = await rawRequest(servers.get(`${mode}/${name}`) as { port: number }, target, []);
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as { version: string | null; url: string; query: string | null };
}

describe.each(Object.keys(MODES) as Mode[])('GW-02 trust %s: a `#` in the target', (mode) => {
  it.each(TARGETS)('%s', async (target, hasMarker) => {
    const [web, node] = await Promise.all([see(mode, 'web', target), see(mode, 'node', target)]);
    // What the handler reads from the request is what @graylane/node leaves it.
    expect(web.url).toBe(node.url);
    expect(web.query).toBe(node.query);
    if (mode !== 'open' && hasMarker) {
      expect(web.version).toBe('stable');
      expect(web.url).not.toMatch(/gray/i);
      expect(web.query).toBeNull();
    }
  });
});

/**
 * Review 81 D3: the removal wrote the reading back (`#` as `&`), so a fragment became
 * parameters: `/d?gray=beta#&admin=1` reached the handler as `/d?&admin=1`. Now every `#` and `?`
 * that stays keeps its place: no parameter the handler reads was not in the target's query.
 */
const SMUGGLED: string[] = [
  '/d?gray=beta#&admin=1',
  '/d#gray=beta&admin=1',
  '/d?a=1&gray=beta#x&admin=1',
  '/d#?gray=beta&admin=1',
  '/d?gray=beta#admin=1',
  '/d#x&gray=beta#admin=1',
  '/d?GRAY=beta#&admin=1',
  '/d??gray=beta#&admin=1',
];

describe.each(['edge', 'signed'] as const)(
  'GW-02 trust %s: a fragment stays a fragment (review 81 D3)',
  (mode) => {
    it.each(SMUGGLED)('%s', async (target) => {
      for (const name of ['web', 'node'] as const) {
        const port = (servers.get(`${mode}/${name}`) as { port: number }).port;
        const answer = await rawRequest({ port }, target, []);
        expect(answer.status, answer.body).toBe(200);
        const url = new URL((JSON.parse(answer.body) as { url: string }).url);
        // The marker is gone, and `admin`, never in the query as sent, is not in it now.
        expect(url.href, name).not.toMatch(/gray=/i);
        expect(url.searchParams.get('admin'), `${name}: ${url.href}`).toBeNull();
      }
    });
  },
);

describe('GW-02 open mode reads a marker after `#` as @graylane/node does', () => {
  it.each([
    ['/d#?gray=beta', 'beta'],
    ['/d?a=1#gray=beta', 'beta'],
    ['/d#x#gray=beta', 'beta'],
    ['/d??gray=beta', 'beta'],
    ['/d#?gray=gamma', 'stable'],
    ['/d#frag', 'stable'],
  ])('%s → %s', async (target, want) => {
    const web = await see('open', 'web', target);
    expect(web.version).toBe(want);
  });
});
