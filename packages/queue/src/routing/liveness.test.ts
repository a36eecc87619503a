import { describe, expect, it } from 'vitest';
import { createLiveness, startDrain } from '../../dist/index.js';

describe('lane liveness cache', () => {
  it('caches answers for the interval, shares one probe, keeps the last answer on error', async () => {
    let t = 0;
    let calls = 0;
    let answer: boolean | Error = true;
    const live = createLiveness(
      async () => {
        calls++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      { intervalMs: 10, graceMs: 50, now: () => t },
    );
    expect(await Promise.all([live.check('beta'), live.check('beta')])).toEqual([true, true]);
    expect(calls).toBe(1);
    t = 5;
    expect(await live.check('beta')).toBe(true);
    expect(calls).toBe(1);
    answer = false;
    t = 30;
    expect(await live.check('beta')).toBe(true); // within grace of the last "alive"
    expect(calls).toBe(2);
    t = 300;
    expect(await live.check('beta')).toBe(false);
    answer = new Error('broker down');
    t = 500;
    expect(await live.check('beta')).toBe(false);
    expect(live.cached('never-seen')).toBe(false);
  });
});

describe('drain loop', () => {
  it('drains dead lanes, reports alive ones, never overlaps ticks, survives hook errors', async () => {
    const alive = new Set(['gamma']);
    const live = createLiveness(async (lane) => alive.has(lane), { intervalMs: 0, graceMs: 0 });
    const log: string[] = [];
    let inTick = 0;
    let overlapped = false;
    const loop = startDrain(
      () => ['beta', 'gamma'],
      live,
      {
        async onDead(lane) {
          inTick++;
          if (inTick > 1) overlapped = true;
          log.push(`dead:${lane}`);
          await new Promise((r) => setTimeout(r, 5));
          inTick--;
          throw new Error('hook failed');
        },
        async onAlive(lane) {
          log.push(`alive:${lane}`);
        },
        onError: () => log.push('error'),
      },
      60_000,
    );
    await Promise.all([loop.tick(), loop.tick()]);
    await loop.stop();
    expect(log).toEqual(['dead:beta', 'error', 'alive:gamma']);
    expect(overlapped).toBe(false);
  });
});
