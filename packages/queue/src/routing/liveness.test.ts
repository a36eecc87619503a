import { describe, expect, it } from 'vitest';
import { createLiveness, startDrain } from '../../dist/index.js';

describe('lane liveness cache', () => {
  it('caches answers for the interval, shares one probe, a failing probe keeps a lane for its grace only', async () => {
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

describe('lane liveness: a failing probe', () => {
  // A lane's consumer deleted under it (`nats consumer rm`, a queue removed) makes every probe
  // fail. The last "alive" holds for the grace only; then the lane is dead and its messages go to
  // the fallback, never waiting on a lane nobody may serve.
  it.each([
    [
      'fails right after an alive answer',
      [
        ['ok', 0],
        ['err', 20],
        ['err', 40],
        ['err', 60],
        ['err', 200],
      ],
      [true, true, true, false, false],
    ],
    [
      'fails from the first probe',
      [
        ['err', 0],
        ['err', 100],
      ],
      [false, false],
    ],
    [
      'recovers',
      [
        ['ok', 0],
        ['err', 200],
        ['ok', 300],
        ['err', 320],
      ],
      [true, false, true, true],
    ],
    [
      'alternates within the grace',
      [
        ['ok', 0],
        ['err', 30],
        ['ok', 60],
        ['err', 90],
        ['err', 120],
      ],
      [true, true, true, true, false],
    ],
    [
      'said dead, then fails',
      [
        ['ok', 0],
        ['dead', 20],
        ['err', 40],
        ['err', 120],
      ],
      [true, true, true, false],
    ],
  ] as const)('%s', async (_name, steps, expected) => {
    let t = 0;
    let answer: 'ok' | 'err' | 'dead' = 'ok';
    const live = createLiveness(
      async () => {
        if (answer === 'err') throw new Error('consumer not found');
        return answer === 'ok';
      },
      { intervalMs: 10, graceMs: 50, now: () => t },
    );
    const seen: boolean[] = [];
    for (const [a, at] of steps) {
      answer = a;
      t = at;
      seen.push(await live.refresh('beta'));
    }
    expect(seen).toEqual(expected);
    expect(live.cached('beta')).toBe(expected[expected.length - 1]);
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

describe('lane liveness: recheck, for a caller judging what it has just read (MQ-01)', () => {
  // A probe in flight was sent before the caller's read: it may say alive (leave the lane
  // alone) but not dead — a second probe, sent after the read, decides then.
  const deferred = () => {
    let resolve!: (up: boolean) => void;
    const promise = new Promise<boolean>((r) => (resolve = r));
    return { promise, resolve };
  };
  it.each([
    ['no probe in flight', undefined, [false], false, 1],
    ['no probe in flight, the new one says alive', undefined, [true], true, 1],
    ['a probe in flight that says alive', true, [], true, 1],
    ['a probe in flight that says dead, the next one alive', false, [true], true, 2],
    ['a probe in flight that says dead, the next one dead', false, [false], false, 2],
  ] as const)('%s', async (_label, inFlight, next, want, probes) => {
    const answers: ReturnType<typeof deferred>[] = [];
    const live = createLiveness(
      () => {
        const d = deferred();
        answers.push(d);
        return d.promise;
      },
      { intervalMs: 1_000, graceMs: 0 },
    );
    let earlier: Promise<boolean> | undefined;
    if (inFlight !== undefined) earlier = live.refresh('beta');
    const got = live.recheck('beta');
    if (inFlight !== undefined) answers[0]!.resolve(inFlight);
    await earlier;
    for (const up of next) {
      await new Promise((r) => setTimeout(r, 0));
      answers.at(-1)!.resolve(up);
    }
    expect(await got).toBe(want);
    expect(answers).toHaveLength(probes);
  });
});
