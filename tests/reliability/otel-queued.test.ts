import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtelChild } from './otel-child.js';

/**
 * I7 / OTB-01 with OpenTelemetry's undici instrumentation (real OTel 2.x SDK in a child process):
 * calls queued on a one-connection pool are created — and OTel injects its baggage — in the
 * context of whichever request freed the connection. No call may leave with another request's
 * `X-Gray-Id` or `gray` baggage member: not a queued request of another lane, not a background
 * call with no lane at all. Each round holds one request's connection while others queue behind.
 */
const fixture = fileURLToPath(new URL('./fixtures/otel-queued-service.cjs', import.meta.url));

interface Seen {
  header: string | undefined;
  members: string[];
}
const seen = new Map<string, Seen>();
let echo: Server;
let echoUrl: string;

beforeAll(async () => {
  echo = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    const baggage = req.headers.baggage;
    const members = (typeof baggage === 'string' ? baggage.split(',') : [])
      .map((m) => /^\s*gray=([^;]*)/.exec(m)?.[1]?.trim())
      .filter((m): m is string => m !== undefined);
    const header = req.headers['x-gray-id'];
    seen.set(id, { header: typeof header === 'string' ? header : undefined, members });
    setTimeout(() => res.end('ok'), id.includes('hold') ? 150 : 0);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => echo.close(() => r())));

describe.each(['global', 'interceptor'])('I7 OTB-01 queued undici calls under OTel, %s', (mode) => {
  let service: { url: string; child: ChildProcess };
  beforeAll(async () => {
    service = await startOtelChild(fixture, { MODE: mode, NEXT: echoUrl });
  }, 30_000);
  afterAll(() => {
    service?.child.kill('SIGTERM');
  });

  // With grayInterceptor only, a call made with no lane passes the interceptor untouched, so a
  // queued one is invisible to graylane: OpenTelemetry's copy of the freeing request's baggage
  // stays on it (documented in docs/node.md §4; installGlobal covers it). Lanes only there.
  const LANES =
    mode === 'global'
      ? (['beta', 'stable', 'canary', undefined] as const)
      : (['beta', 'stable', 'canary', 'beta'] as const);
  it.each([0, 1, 2])(
    'round %i: a held beta call, then 12 queued calls of every lane and none',
    async (round) => {
      const id = (k: string) => `${mode}-${round}-${k}`;
      const send = (k: string, lane: string | undefined) =>
        fetch(
          lane === undefined ? `${service.url}/bg?id=${id(k)}` : `${service.url}/call?id=${id(k)}`,
          {
            headers: lane ? { 'x-gray-id': lane } : {},
          },
        ).then((r) => r.text());
      const held = send('hold', 'beta');
      await new Promise((r) => setTimeout(r, 40));
      const queued = Array.from({ length: 12 }, (_v, i) => ({
        k: `q${i}`,
        lane: LANES[(i + round) % 4],
      }));
      await Promise.all([held, ...queued.map((q) => send(q.k, q.lane))]);
      for (const { k, lane } of [{ k: 'hold', lane: 'beta' }, ...queued]) {
        const got = seen.get(id(k));
        expect(got, id(k)).toBeDefined();
        // Its own lane or nothing — never another request's.
        for (const v of [got?.header, ...(got?.members ?? [])].filter((v) => v !== undefined))
          expect(v, `${id(k)} (lane ${lane ?? 'none'})`).toBe(lane);
        expect(got?.members.length ?? 0, id(k)).toBeLessThanOrEqual(1);
      }
    },
    30_000,
  );
});
