import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtelChild } from './otel-child.js';

/**
 * OTB-03: `@fastify/otel` captures the OTel context in its own onRequest hook and runs the handler
 * in it. Registered before graylane (its README's order) that context had no marker, so an
 * instrumented client graylane does not wrap (http.get, global fetch) dropped the lane. Real OTel
 * 2.x SDK (sdk-node 0.223) with http + undici instrumentations and the real @fastify/otel, in a
 * child process; the next hop is a plain server here that records what arrived. (The OTel 3.x line
 * on Node 24 runs the same chain from packed tarballs: tests/otel-current.)
 */
const fixture = fileURLToPath(new URL('./fixtures/otel-fastify-service.cjs', import.meta.url));

const seen = new Map<string, string | undefined>();
let echo: Server;
let echoUrl: string;

beforeAll(async () => {
  echo = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    const baggage = req.headers.baggage;
    const member =
      typeof baggage === 'string' ? /(?:^|,)\s*gray=([^,;]*)/.exec(baggage)?.[1] : undefined;
    seen.set(id, member);
    res.end('ok');
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => echo.close(() => r())));

function startService(
  order: string,
  extra: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  return startOtelChild(fixture, { ORDER: order, NEXT: echoUrl, ...extra });
}

describe.each(['otel-first', 'graylane-first'])(
  'OTB-03 @fastify/otel and graylane, %s',
  (order) => {
    let service: { url: string; child: ChildProcess };
    beforeAll(async () => {
      service = await startService(order);
    }, 30_000);
    afterAll(() => {
      service?.child.kill('SIGTERM');
    });

    it.each(['http', 'fetch'])(
      `OTB-03 I7 via %s: 40 concurrent requests on mixed lanes, each next hop gets its own lane`,
      async (via) => {
        const versions = ['stable', 'beta', 'gamma', undefined] as const;
        const requests = Array.from({ length: 40 }, (_v, i) => ({
          id: `${order}-${via}-${i}`,
          version: versions[i % versions.length],
        }));
        const answers = await Promise.all(
          requests.map(async ({ id, version }) => {
            const res = await fetch(`${service.url}/hop?via=${via}&id=${id}`, {
              headers: version ? { 'x-gray-id': version } : {},
            });
            return (await res.json()) as { version: string; status: number };
          }),
        );
        for (const [i, { id, version }] of requests.entries()) {
          const expected = version ?? 'stable';
          expect(answers[i], id).toEqual({ version: expected, status: 200 });
          expect(seen.get(id), id).toBe(expected);
        }
      },
      30_000,
    );
  },
);

// OTB-02 with `markers: { baggage: false }`: graylane ignores the client's `gray` member, so the
// W3C propagator must not forward it either, even from the context `@fastify/otel` captured
// before graylane ran.
describe.each(['otel-first', 'graylane-first'])(
  'OTB-02 @fastify/otel, %s, baggage carrier off',
  (order) => {
    let service: { url: string; child: ChildProcess };
    beforeAll(async () => {
      service = await startService(order, { BAGGAGE: 'off' });
    }, 30_000);
    afterAll(() => {
      service?.child.kill('SIGTERM');
    });

    it.each(['http', 'fetch'])(
      'OTB-02 via %s: the client’s gray member never reaches the next hop',
      async (via) => {
        for (const [i, sent] of [
          'gray=beta,tenant=acme',
          'tenant=acme,gray=gamma',
          'gray=beta',
        ].entries()) {
          const id = `off-${order}-${via}-${i}`;
          const res = await fetch(`${service.url}/hop?via=${via}&id=${id}`, {
            headers: { baggage: sent },
          });
          expect(((await res.json()) as { version: string }).version).toBe('stable');
          expect(seen.has(id), id).toBe(true);
          expect(seen.get(id), id).toBeUndefined();
        }
      },
      30_000,
    );
  },
);
