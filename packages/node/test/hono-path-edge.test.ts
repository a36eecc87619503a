import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMarker } from '../src/index.js';
import { graylaneHono } from '../src/adapters/hono.js';

/*
 * GW-02 in hono under @hono/node-server (the same defect review 120 D2 found in @graylane/web):
 * edge and signed mode remove the `;gray=…` spellings a `;`-splitting next hop reads from the
 * URL the app sees, but hono computed `c.req.path` before any middleware ran, so the handler read
 * `/items/x;gray=beta` beside a cleaned `c.req.url` — an app proxying `c.req.path` handed the
 * client's choice on. Every row: `c.req.path` is the pathname of `c.req.url` and holds no marker.
 * Rows without a `;` spelling, and open mode, are controls. The route and `c.req.param()` were
 * matched before the middleware (documented).
 */

const KEY = 'k'.repeat(32);
const config = { versions: ['stable', 'beta'], default: 'stable' };
const MODES = [
  ['edge', { trust: 'edge' as const }],
  ['signed', { trust: 'signed' as const, keys: { k1: KEY } }],
] as const;
const TARGETS: [string, boolean][] = [
  ['/items/x;gray=beta', true],
  ['/items/x;gray=beta;a=1', true],
  ['/items/x;a=1;gray=beta', true],
  ['/a;gray=beta/b', true],
  ['/a/b;gray=beta?q=1', true],
  ['/a/b;%67ray=beta', true],
  ['/a/b;gray=beta&x=1', true],
  ['/a/b;gray=beta?gray=beta', true],
  ['/p;GRAY=beta', false],
  ['/p;grayx=beta', false],
  ['/items/x', false],
  ['/a/b?gray=beta', false],
  ['/a%3Bgray=beta/b', false],
];

const servers: { close(): void }[] = [];
const ports = new Map<string, number>();
beforeAll(async () => {
  for (const [name, options] of [...MODES, ['open', {}] as const]) {
    const app = new Hono();
    app.use(graylaneHono({ config, ...options }));
    app.all('*', (c) => c.json({ path: c.req.path, url: c.req.url }));
    const server = createAdaptorServer({ fetch: app.fetch });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    ports.set(name, (server.address() as AddressInfo).port);
  }
});
afterAll(() => {
  for (const s of servers) s.close();
});

async function seen(mode: string, target: string): Promise<{ path: string; url: string }> {
  const res = await fetch(`http://127.0.0.1:${ports.get(mode)}${target}`);
  return (await res.json()) as { path: string; url: string };
}

/** The pathname of `url` as sent (no normalisation: hono's path is raw up to decodeURI). */
const pathOf = (url: string): string => {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const q = url.indexOf('?', start);
  return decodeURI(url.slice(start, q === -1 ? undefined : q));
};

describe('GW-02 @graylane/node/hono: c.req.path follows the edited URL', () => {
  for (const [mode] of MODES)
    for (const [target, spelled] of TARGETS)
      it(`${mode} ${target}${spelled ? '' : ' (control)'}`, async () => {
        const { path, url } = await seen(mode, target);
        expect(path).toBe(pathOf(url));
        expect(path).not.toMatch(/;(gray|%67ray)=/);
      });

  it('open mode keeps the path as sent (control)', async () => {
    expect((await seen('open', '/items/x;gray=beta')).path).toBe('/items/x;gray=beta');
  });

  it('signed mode: a valid token in a `;` parameter is removed as well', async () => {
    const token = signMarker('beta', { key: KEY, kid: 'k1', ttlSeconds: 60 });
    const { path } = await seen('signed', `/items/x;gray=${token}`);
    expect(path).toBe('/items/x;');
  });
});
