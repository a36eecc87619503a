import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nodeFetch from 'node-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray, withGray, type FetchLike } from '../../src/index.js';

/*
 * RDR-01 / I8 controls for what docs/node.md says of a fetch that does not use undici (review
 * 158 N1): `withGray(nodeFetch)` judges the first request only, node-fetch copies its headers
 * onto each redirect hop, so the marker follows a 3xx off the allowlist; `installGlobal()` or
 * `redirect: 'manual'` with the caller following through the wrapped fetch keep it on the list.
 * Controls: they pin documented behaviour, not a change.
 */

interface Seen {
  readonly path: string;
  readonly id: string | undefined;
  readonly baggage: string | undefined;
}

async function listen(seen: Seen[], name: string) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = req.headers['x-gray-id'];
    const baggage = req.headers.baggage;
    seen.push({
      path: `${name}${url.pathname}`,
      id: typeof id === 'string' ? id : undefined,
      baggage: typeof baggage === 'string' ? baggage : undefined,
    });
    const to = url.searchParams.get('to');
    if (to !== null) res.writeHead(Number(url.searchParams.get('code')), { location: to });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const seen: Seen[] = [];
let a: Awaited<ReturnType<typeof listen>>;
let b: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  [a, b] = await Promise.all([listen(seen, 'a'), listen(seen, 'b')]);
});
afterAll(() => {
  for (const s of [a, b]) {
    s.server.closeAllConnections();
    s.server.close();
  }
});

const grayFetch = () =>
  withGray(nodeFetch as unknown as FetchLike, { allowHosts: [new URL(a.origin).host] });
const hop = (code: number, path: string) =>
  `${a.origin}/r?code=${code}&to=${encodeURIComponent(`${b.origin}${path}`)}`;
const inLane = <T>(fn: () => Promise<T>) => runWithGray('beta', fn) as Promise<T>;
const at = (path: string) => seen.find((s) => s.path === path);

describe('withGray(node-fetch) and redirects (docs/node.md)', () => {
  it.each([301, 302, 303, 307, 308])(
    'RDR-01 control %i without installGlobal: node-fetch copies the marker to the next host',
    async (code) => {
      const path = `/alone-${code}`;
      await inLane(async () => (await grayFetch()(hop(code, path))).text());
      expect(at('a/r')?.id).toBe('beta');
      expect(at(`b${path}`)).toMatchObject({ id: 'beta', baggage: 'gray=beta' });
    },
  );

  it.each([301, 302, 303, 307, 308])(
    'RDR-01 control %i with installGlobal: the hop outside the allowlist loses it',
    async (code) => {
      const undo = installGlobal({ allowHosts: [new URL(a.origin).host] });
      try {
        const path = `/global-${code}`;
        await inLane(async () => (await grayFetch()(hop(code, path))).text());
        expect(at(`b${path}`)).toMatchObject({ id: undefined, baggage: undefined });
      } finally {
        undo();
      }
    },
  );

  it.each([301, 302, 303, 307, 308])(
    "RDR-01 control %i with redirect: 'manual', followed through the wrapped fetch",
    async (code) => {
      const path = `/manual-${code}`;
      const f = grayFetch();
      await inLane(async () => {
        const first = await f(hop(code, path), { redirect: 'manual' });
        await first.text();
        const location = first.headers.get('location');
        expect(location).toBe(`${b.origin}${path}`);
        await (await f(location as string, { redirect: 'manual' })).text();
      });
      expect(at(`b${path}`)).toMatchObject({ id: undefined, baggage: undefined });
    },
  );
});
