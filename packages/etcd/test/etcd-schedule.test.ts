import { afterEach, describe, expect, it } from 'vitest';
import { createEtcdSource } from '../src/index.js';
import { doc, fakeClient, put, quietLogger, range, recordingStore } from './helpers.js';
import { createManualClock } from '../../../tools/manual-clock.js';

const down = (): Promise<never> =>
  Promise.reject(Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14 }));
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('etcd source schedule (fake client, manual clock)', () => {
  it('FLT-03 10-minute outage: LKG kept, backoff 1 s doubling to 60 s ±20 %, ≤ 15 attempts', async () => {
    const clock = createManualClock();
    let up = true;
    const attempts: number[] = [];
    const client = fakeClient(() => {
      attempts.push(clock.now());
      return up ? Promise.resolve(range(doc('beta'), 10)) : down();
    });
    const { store } = recordingStore();
    const source = createEtcdSource({ key: 'k', client, clock, logger: quietLogger() });
    stops.push(() => source.stop());
    await source.start(store);
    expect(store.get().config.default).toBe('beta');
    up = false;
    attempts.length = 0;
    const lostAt = clock.now();
    client.watchers[0]?.emit('disconnected', new Error('stream ended'));
    const started = performance.now();
    await clock.advance(10 * 60_000);
    const wall = performance.now() - started;
    expect(source.status().state).toBe('stale');
    expect(store.get().config.default).toBe('beta'); // LKG the whole time
    expect(attempts.length).toBeLessThanOrEqual(15);
    const gaps = attempts.map((t, i) => t - (i === 0 ? lostAt : (attempts[i - 1] as number)));
    gaps.forEach((gap, i) => {
      const base = Math.min(60_000, 1_000 * 2 ** i);
      expect(gap).toBeGreaterThanOrEqual(base * 0.8);
      expect(gap).toBeLessThanOrEqual(base * 1.2);
    });
    expect(wall).toBeLessThan(1_000);
    up = true;
    await clock.advance(75_000);
    expect(source.status().state).toBe('ready');
  });

  it('FLT-07 a replayed or older revision is idempotent (CFG-13): 0 extra change events', async () => {
    const client = fakeClient(() => Promise.resolve(range(doc('stable', { rules: [] }), 5)));
    const { store, events } = recordingStore();
    const source = createEtcdSource({ key: 'k', client, logger: quietLogger() });
    stops.push(() => source.stop());
    await source.start(store);
    const w = client.watchers[0];
    w?.push(put(doc('beta'), 7));
    w?.push(put(doc('beta'), 7)); // same revision twice
    w?.push(put(doc('stable'), 6)); // out of order, older
    w?.push(put('{ "default": "beta",\n "versions": ["stable", "beta"] }', 8)); // CFG-12: new revision, same content reordered
    expect(events.filter((e) => e.type === 'change')).toHaveLength(1);
    expect(store.get().config.default).toBe('beta');
  });

  it('FLT-08 100 instances reconnecting after a restart are spread: ≤ 20 % in any 1 s window', async () => {
    const clock = createManualClock();
    let up = false;
    const reconnects: number[] = [];
    const { store } = recordingStore();
    for (let i = 0; i < 100; i++) {
      let seen = false;
      const client = fakeClient(() => {
        if (!up) return down();
        if (!seen) reconnects.push(clock.now());
        seen = true;
        return Promise.resolve(range(doc('beta'), 3));
      });
      const source = createEtcdSource({ key: 'k', client, clock, logger: quietLogger() });
      stops.push(() => source.stop());
      await source.start(store); // all fail at t=0, as after a cluster restart
    }
    await clock.advance(10 * 60_000); // a long outage (FLT-03) puts everyone on the 60 s step
    up = true;
    await clock.advance(120_000);
    expect(reconnects).toHaveLength(100);
    const sorted = [...reconnects].sort((a, b) => a - b);
    let worst = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while ((sorted[i] as number) - (sorted[j] as number) >= 1_000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBeLessThanOrEqual(20);
  });

  it('FLT-16 a store that throws in the reload path: caught, LKG kept, no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = fakeClient(() => Promise.resolve(range(doc('beta'), 4)));
      const { store } = recordingStore();
      const broken = {
        ...store,
        update: () => {
          throw new Error('injected validator bug');
        },
      };
      const source = createEtcdSource({ key: 'k', client, logger: quietLogger() });
      stops.push(() => source.stop());
      await source.start(broken);
      client.watchers[0]?.push(put(doc('beta'), 9));
      await new Promise((r) => setTimeout(r, 20));
      expect(source.status().lastError).toMatch(/injected validator bug/);
      expect(store.get().config.default).toBe('stable');
      expect(unhandled).toHaveLength(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('FLT-17 a wall-clock jump of ±1 day does not move the monotonic backoff', async () => {
    const clock = createManualClock();
    let wallOffset = 0;
    const skewed = { ...clock, wallNow: () => clock.wallNow() + wallOffset };
    const attempts: number[] = [];
    const client = fakeClient(() => {
      attempts.push(clock.now());
      return down();
    });
    const { store } = recordingStore();
    const source = createEtcdSource({
      key: 'k',
      client,
      clock: skewed,
      logger: quietLogger(),
      backoff: { jitter: 0 },
    });
    stops.push(() => source.stop());
    await source.start(store);
    wallOffset = -86_400_000;
    await clock.advance(1_000);
    wallOffset = 86_400_000;
    await clock.advance(2_000);
    expect(attempts).toEqual([0, 1_000, 3_000]);
  });
});
