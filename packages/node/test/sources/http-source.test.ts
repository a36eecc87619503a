import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSource } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore, sleep, waitFor } from './helpers.js';
import { createManualClock } from '../../../../tools/manual-clock.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/graylane.json`, requests };
}

describe('http source', () => {
  it('ETag / If-None-Match: 304 keeps the config, a new body swaps it (CFG-12: same content is no change)', async () => {
    let body = doc('beta');
    let etag = '"v1"';
    const { url, requests } = await serve((req, res) => {
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
      res.writeHead(200, { etag, 'content-type': 'application/json' }).end(body);
    });
    const { store, changes } = recordingStore();
    const source = createHttpSource({ url, intervalMs: 30, logger: quietLogger() });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(store.get().config.default).toBe('beta');
    await waitFor(() => requests.length >= 3, 2_000, 'polls');
    expect(requests[1]?.headers['if-none-match']).toBe('"v1"');
    body = ' {"default":"beta","versions":["stable","beta"]} ';
    etag = '"v2"';
    await waitFor(
      () => requests.some((r) => r.headers['if-none-match'] === '"v2"'),
      2_000,
      'v2 seen',
    );
    expect(changes()).toBe(1);
    body = doc('stable');
    etag = '"v3"';
    await waitFor(() => store.get().config.default === 'stable', 2_000, 'v3');
    expect(source.status().state).toBe('ready');
  });

  it.each([401, 403])(
    'FLT-04 HTTP %i stops the source: ≤ 1 attempt, loud error, LKG kept',
    async (code) => {
      const { url, requests } = await serve((_req, res) => res.writeHead(code).end('no'));
      const { store } = recordingStore();
      const logger = quietLogger();
      const source = createHttpSource({ url, intervalMs: 10, backoff: { initialMs: 10 }, logger });
      cleanups.push(() => source.stop());
      await source.start(store);
      await sleep(200);
      expect(requests).toHaveLength(1);
      expect(source.status()).toMatchObject({ state: 'error', fatal: true });
      expect(logger.lines.some((l) => l.startsWith('error') && l.includes(String(code)))).toBe(
        true,
      );
      expect(store.get().source).toBe('embedded');
    },
  );

  it.each([429, 503])(
    'FLT-05 HTTP %i backs off, never faster than the interval, honouring Retry-After',
    async (code) => {
      const clock = createManualClock();
      const times: number[] = [];
      let retryAfter: string | undefined = undefined;
      const fetch = (): Promise<Response> => {
        times.push(clock.now());
        return Promise.resolve(
          new Response('busy', {
            status: code,
            headers: retryAfter ? { 'retry-after': retryAfter } : {},
          }),
        );
      };
      const source = createHttpSource({
        url: 'http://x/',
        intervalMs: 5_000,
        fetch,
        clock,
        logger: quietLogger(),
      });
      cleanups.push(() => source.stop());
      await source.start(recordingStore().store);
      await clock.advance(60_000);
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
      expect(gaps.length).toBeGreaterThan(2);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(5_000);
      expect(source.status().state).toBe('error');
      retryAfter = '40';
      times.length = 0;
      await clock.advance(120_000);
      expect(
        times
          .slice(1)
          .map((t, i) => t - (times[i] as number))
          .every((g) => g >= 40_000),
      ).toBe(true);
    },
  );

  // Every jitter draw: all low, all high, the middle, and Math.random (at −20 % throughout the
  // cap's spread used to allow 17 attempts).
  it.each([
    ['every draw lowest', () => 0],
    ['every draw middle', () => 0.5],
    ['every draw highest', () => 0.999_999],
    ['Math.random', Math.random],
    ['Math.random again', Math.random],
  ])(
    'FLT-03 10-minute outage (%s): LKG kept, retries 1 s, 2 s, 4 s … ±20 %, then 60–72 s, ≤ 15 attempts, < 1 s wall',
    async (_name, random) => {
      const clock = createManualClock();
      let up = true;
      const times: number[] = [];
      const fetch = (): Promise<Response> => {
        times.push(clock.now());
        return up
          ? Promise.resolve(new Response(doc('beta')))
          : Promise.reject(new TypeError('fetch failed'));
      };
      const { store } = recordingStore();
      const source = createHttpSource({
        url: 'http://x/',
        intervalMs: 1_000,
        fetch,
        clock,
        logger: quietLogger(),
        backoff: { random },
      });
      cleanups.push(() => source.stop());
      await source.start(store);
      up = false;
      await clock.advance(1_000); // the next poll fails: the outage starts here
      const lostAt = clock.now();
      times.length = 0;
      const t0 = performance.now();
      await clock.advance(10 * 60_000);
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(times.length).toBeLessThanOrEqual(15);
      times.forEach((t, i) => {
        const gap = t - (i === 0 ? lostAt : (times[i - 1] as number));
        const doubled = 1_000 * 2 ** i;
        const base = Math.min(60_000, doubled);
        expect(gap).toBeGreaterThanOrEqual(doubled >= 60_000 ? base : base * 0.8);
        expect(gap).toBeLessThanOrEqual(base * 1.2);
      });
      expect(store.get().config.default).toBe('beta');
      expect(source.status().state).toBe('stale');
    },
  );

  it('a hung endpoint is aborted after timeoutMs and retried; LKG kept', async () => {
    const { url, requests } = await serve(() => undefined); // never answers
    const { store } = recordingStore();
    const source = createHttpSource({
      url,
      timeoutMs: 100,
      backoff: { initialMs: 50, maxMs: 50 },
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    const t0 = performance.now();
    await source.start(store);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(source.status().lastError).toMatch(/timed out/);
    await waitFor(() => requests.length >= 2, 2_000, 'retry');
  });

  // SRC-05: the timeout covers the body too, and it is the source's own: a `fetch` that drops
  // `init.signal` (a wrapper, a mock, another client) cannot keep a poll from ending.
  const dropsSignal: typeof fetch = (input, init) => {
    const { signal: _dropped, ...rest } = init ?? {};
    return fetch(input, rest);
  };
  it.each([
    ['the global fetch, a body that never ends', fetch, 'trickle'],
    ['a fetch that drops the signal, a body that never ends', dropsSignal, 'trickle'],
    ['a fetch that drops the signal, headers then silence', dropsSignal, 'silent'],
    ['the global fetch, headers then silence', fetch, 'silent'],
  ] as const)(
    'SRC-05 %s: the poll ends at timeoutMs, stop() ends it too',
    async (_name, impl, kind) => {
      const { url } = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"versions":');
        if (kind === 'trickle') {
          const t = setInterval(() => res.write(' '), 20);
          res.on('close', () => clearInterval(t));
        }
      });
      const { store } = recordingStore();
      const source = createHttpSource({ url, timeoutMs: 300, fetch: impl, logger: quietLogger() });
      cleanups.push(() => source.stop());
      const t0 = performance.now();
      await source.start(store);
      expect(performance.now() - t0).toBeLessThan(2_000);
      expect(source.status().state).toBe('error');
      expect(source.status().lastError).toMatch(/timed out/);
      const t1 = performance.now();
      await source.stop();
      expect(performance.now() - t1).toBeLessThan(1_000);
    },
  );

  it('looks up globalThis.fetch at call time, and caps bodies at 1 MiB (CFG-07)', async () => {
    const original = globalThis.fetch;
    cleanups.push(() => void (globalThis.fetch = original));
    const { store } = recordingStore();
    const source = createHttpSource({
      url: 'http://x/',
      intervalMs: 60_000,
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    let calls = 0;
    globalThis.fetch = (() => {
      calls++;
      return Promise.resolve(new Response(' '.repeat(1024 * 1024) + doc('beta')));
    }) as typeof fetch;
    await source.start(store);
    expect(calls).toBe(1);
    expect(source.status().lastError).toMatch(/larger than/);
    expect(store.get().source).toBe('embedded');
  });

  it('CFG-01 a truncated body is rejected and the LKG stays', async () => {
    let body = doc('beta');
    const { url } = await serve((_req, res) => res.end(body));
    const { store, events } = recordingStore();
    const source = createHttpSource({ url, intervalMs: 20, logger: quietLogger() });
    cleanups.push(() => source.stop());
    await source.start(store);
    body = doc('stable').slice(0, 25);
    await waitFor(() => events.some((e) => e.type === 'rejected'), 2_000, 'rejection');
    expect(store.get().config.default).toBe('beta');
    expect(source.status().state).toBe('stale');
  });
});
