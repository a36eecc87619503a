// MQ-27 (review 139 D4): BullMQ's global pause (`Queue#pause()`: "no workers will pick up any
// jobs") on a lane router's queues. A paused base queue pauses the default lane's drain too (the
// default workers take no job of any lane); a paused lane queue makes the lane dead, so producers
// route its jobs to the base queue instead of into a queue nothing runs. Real redis-server.
import { getGrayVersion, runWithGray } from '@graylane/node';
import { Queue, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import type { BullLanes } from '../dist/bullmq.js';
import { CONFIG, fresh, until, useBullBroker } from './helpers.js';

const broker = useBullBroker(createMessageLanes({ config: CONFIG }));

const TUNING = {
  heartbeatTtlMs: 300,
  liveness: { intervalMs: 50, graceMs: 0 },
  drainIntervalMs: 50,
} as const;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Operator-side handles: what `new Queue(name).pause()` in an incident is. */
function ops(router: BullLanes, lane: string, prefix: string): Queue {
  return new Queue(router.queueFor(lane), { connection: broker.connection, prefix });
}

/** Jobs left on beta's queue with no beta worker (added there directly, as a dead lane keeps them). */
async function strand(router: BullLanes, prefix: string, ids: readonly string[]): Promise<void> {
  const q = ops(router, 'beta', prefix);
  await q.addBulk(ids.map((id) => ({ name: 'm', data: { id, __gray: 'beta' } })));
  await q.close();
}

describe('MQ-27 BullMQ: a globally paused base queue pauses the drain of dead lanes', () => {
  const rows = (['bull', '{app}'] as const).flatMap((prefix) =>
    ([1, 10] as const).flatMap((concurrency) =>
      (['before the default worker starts', 'while a drainer runs'] as const).map((when) => ({
        prefix,
        concurrency,
        when,
      })),
    ),
  );
  it.concurrent.each(rows)(
    'MQ-27 prefix $prefix · concurrency $concurrency · paused $when: nothing drained until resumed',
    async ({ prefix, concurrency, when }) => {
      const name = fresh('bp');
      const router = broker.router(name, { prefix, ...TUNING });
      const base = ops(router, 'stable', prefix);
      const seen: string[] = [];
      const record = async (job: Job) =>
        void seen.push(`${(job.data as { id: string }).id}/${getGrayVersion()}`);
      let stable: { close(): Promise<void> } | undefined;
      try {
        if (when === 'while a drainer runs') {
          stable = router.worker('stable', record, { concurrency });
          await strand(router, prefix, ['warm']);
          await until(() => seen.length === 1, 5_000);
        }
        await base.pause();
        stable ??= router.worker('stable', record, { concurrency });
        await strand(router, prefix, ['a', 'b', 'c']);
        await wait(400); // many drain ticks: a drain that ignores the pause takes them here
        expect(seen.filter((s) => !s.startsWith('warm'))).toEqual([]);
        await base.resume();
        await until(() => seen.length === (when === 'while a drainer runs' ? 4 : 3), 5_000);
        expect(seen.sort()).toEqual(
          [
            ...(when === 'while a drainer runs' ? ['warm/beta'] : []),
            'a/beta',
            'b/beta',
            'c/beta',
          ].sort(),
        );
      } finally {
        await stable?.close();
        await base.close();
        await router.close();
      }
    },
  );

  it('MQ-27 control: pausing the base queue leaves a live lane’s own worker working (each lane is its own queue)', async () => {
    const name = fresh('bpc');
    const router = broker.router(name, TUNING);
    const base = ops(router, 'stable', 'bull');
    const seen: string[] = [];
    const beta = router.worker(
      'beta',
      async (job) => void seen.push(`${job.queueName}/${getGrayVersion()}`),
    );
    try {
      await until(() => router.liveness.refresh('beta'), 5_000);
      await base.pause();
      await runWithGray('beta', () => router.add('m', {}));
      await until(() => seen.length === 1, 5_000);
      expect(seen).toEqual([`${name}.lane.beta/beta`]);
    } finally {
      await beta.close();
      await base.close();
      await router.close();
    }
  });
});

describe('MQ-27 BullMQ: a globally paused lane queue is not alive', () => {
  const rows = (['bull', '{app}'] as const).flatMap((prefix) =>
    (['the same router', 'another router', 'addBulk'] as const).map((producer) => ({
      prefix,
      producer,
    })),
  );
  it.concurrent.each(rows)(
    'MQ-27 prefix $prefix · produced by $producer: paused → routed to the base queue and served there; resumed → the lane again',
    async ({ prefix, producer }) => {
      const name = fresh('lp');
      const router = broker.router(name, { prefix, ...TUNING });
      const other = broker.router(name, { prefix, ...TUNING });
      const lane = ops(router, 'beta', prefix);
      const seen: string[] = [];
      const record = (who: string) => async (job: Job) =>
        void seen.push(`${(job.data as { id: string }).id}:${who}/${getGrayVersion()}`);
      const beta = router.worker('beta', record('beta'));
      const stable = router.worker('stable', record('stable'));
      const publisher = producer === 'another router' ? other : router;
      const add = (id: string) =>
        runWithGray('beta', async () =>
          producer === 'addBulk'
            ? ((await publisher.addBulk([{ name: 'm', data: { id } }]))[0] as Job)
            : publisher.add('m', { id }),
        );
      try {
        await until(() => publisher.liveness.refresh('beta'), 5_000);
        await lane.pause();
        // The heartbeat goes on (the worker runs): only the pause may make the lane dead.
        await until(async () => !(await publisher.liveness.refresh('beta')), 5_000);
        const whilePaused = await add('p');
        expect(whilePaused.queueName).toBe(name);
        await until(() => seen.length === 1, 5_000);
        expect(seen).toEqual(['p:stable/beta']);
        await lane.resume();
        await until(() => publisher.liveness.refresh('beta'), 5_000);
        const resumed = await add('r');
        expect(resumed.queueName).toBe(`${name}.lane.beta`);
        await until(() => seen.length === 2, 5_000);
        expect(seen[1]).toBe('r:beta/beta');
      } finally {
        await beta.close();
        await stable.close();
        await lane.close();
        await other.close();
        await router.close();
      }
    },
  );

  it('MQ-27 both paused: nothing runs anywhere; both resumed: every job runs once', async () => {
    const name = fresh('both');
    const router = broker.router(name, TUNING);
    const base = ops(router, 'stable', 'bull');
    const lane = ops(router, 'beta', 'bull');
    const seen: string[] = [];
    const record = (who: string) => async (job: Job) =>
      void seen.push(`${(job.data as { id: string }).id}:${who}`);
    const beta = router.worker('beta', record('beta'));
    const stable = router.worker('stable', record('stable'));
    try {
      await until(() => router.liveness.refresh('beta'), 5_000);
      await base.pause();
      await lane.pause();
      await until(async () => !(await router.liveness.refresh('beta')), 5_000);
      await runWithGray('beta', () => router.add('m', { id: 'b' }));
      await router.add('m', { id: 's' });
      await strand(router, 'bull', ['left']);
      await wait(400);
      expect(seen).toEqual([]);
      await lane.resume();
      await base.resume();
      await until(() => seen.length === 3, 5_000);
      await wait(100);
      expect(seen.map((s) => s.split(':')[0]).sort()).toEqual(['b', 'left', 's']);
    } finally {
      await beta.close();
      await stable.close();
      await base.close();
      await lane.close();
      await router.close();
    }
  });
});
