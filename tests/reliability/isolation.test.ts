import { afterEach, describe, expect, it } from 'vitest';
import { runIsolation, startTwoHop } from './two-hop.mjs';

/**
 * LD-04 (bounded): random markers through two hops (client → A → B), 0 mismatches (I7).
 *
 * Count: 30,000 requests locally, 60,000 under CI=true (GRAYLANE_LD04_REQUESTS overrides; CI runs
 * this file on Node 20 and 24 inside its 25 minutes).
 * Measured on the shared 2-core machine under other engineers' load: ~400 req/s through
 * withGray(fetch) and ~650 req/s through undici + grayInterceptor, so 30,000 take ~45 s.
 * A time box (LD04_DEADLINE_MS) keeps the test bounded on an even slower machine: it then
 * reports how many it managed; the 0-mismatch assertion holds for every request sent.
 * The 1,000,000-request run is `npm run soak`.
 */
const fromEnv = Number(process.env['GRAYLANE_LD04_REQUESTS']);
const TOTAL =
  Number.isFinite(fromEnv) && fromEnv > 0
    ? fromEnv
    : process.env['CI'] === 'true'
      ? 60_000
      : 30_000;
const LD04_DEADLINE_MS = process.env['CI'] === 'true' ? 240_000 : 75_000;
/** Enough traffic that the run means something even when the time box cuts it short. */
const MIN_REQUESTS = Math.min(TOTAL, 5_000);

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('LD-04 isolation through two hops (bounded)', () => {
  it(
    `LD-04 I7 ${TOTAL.toLocaleString('en')} requests, 64 keep-alive connections, 16 random markers, two hops (undici + grayInterceptor): 0 mismatches`,
    async () => {
      const topo = await startTwoHop({ client: 'undici' });
      close = topo.close;
      const deadline = performance.now() + LD04_DEADLINE_MS;
      const r = await runIsolation({
        url: topo.url,
        total: TOTAL,
        connections: 64,
        until: () => performance.now() > deadline,
      });
      console.log(
        `LD-04: ${r.sent} requests in ${Math.round(r.elapsedMs)} ms (${Math.round(r.rps)} req/s), ` +
          `${r.mismatches} mismatches, ${r.errors} errors, ${r.non2xx} non-2xx ${r.examples.join('; ')}`,
      );
      expect(r.mismatches).toBe(0);
      expect(r.errors).toBe(0);
      expect(r.non2xx).toBe(0);
      expect(r.sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
    },
    LD04_DEADLINE_MS + 60_000,
  );

  it('LD-04 I7 the same topology through withGray(fetch): 2,000 requests, 0 mismatches', async () => {
    const topo = await startTwoHop({ client: 'fetch' });
    close = topo.close;
    const r = await runIsolation({ url: topo.url, total: 2_000, connections: 50 });
    expect(r.mismatches).toBe(0);
    expect(r.errors + r.non2xx).toBe(0);
    expect(r.sent).toBe(2_000);
  }, 120_000);
});
