// MQ-28 (review 139 D5): a job the default lane drains from a dead BullMQ lane counts once in
// `queueStats().drained` and `graylane.queue.moved{how="drained"}`, however many attempts it then
// takes (`attempts`, a failure on the lane before it died), as the AMQP and NATS drains count the
// message they move once. Real redis-server, real OTel SDK MeterProvider.
import { getGrayVersion } from '@graylane/node';
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, queueStats } from '../dist/index.js';
import type { RedisLivenessLike } from '../dist/bullmq.js';
import { CONFIG, fresh, until, useBullBroker } from './helpers.js';
import { recordMetrics, type RecordedMetrics } from './metrics.js';

let recorded: RecordedMetrics;
beforeAll(() => {
  recorded = recordMetrics();
});
afterAll(async () => {
  await recorded?.stop();
});
const broker = useBullBroker(createMessageLanes({ config: CONFIG }));

const TUNING = { liveness: { intervalMs: 50, graceMs: 0 }, drainIntervalMs: 50 } as const;
const JOBS = 2;
const moved = () => recorded.sum('graylane.queue.moved', { lane: 'beta', how: 'drained' });

type Arrival = 'stranded' | 'delayed on the lane' | 'failed once on the lane first';
type Outcome = 'succeeds on the last attempt' | 'fails every attempt';
interface Row {
  readonly arrival: Arrival;
  readonly attempts: number;
  readonly outcome: Outcome;
  readonly client: 'ioredis' | 'a client without eval';
}

/** Leaves JOBS beta jobs on the lane's queue as a dead lane would hold them. */
async function arrive(laneQueue: string, row: Row): Promise<void> {
  const opts: JobsOptions = {
    attempts: row.attempts,
    ...(row.arrival === 'delayed on the lane' ? { delay: 200 } : {}),
    ...(row.arrival === 'failed once on the lane first'
      ? { backoff: { type: 'fixed', delay: 200 } }
      : {}),
  };
  const q = new Queue(laneQueue, { connection: broker.connection });
  await q.addBulk(
    Array.from({ length: JOBS }, (_, i) => ({ name: 'm', data: { i, __gray: 'beta' }, opts })),
  );
  await q.close();
  if (row.arrival !== 'failed once on the lane first') return;
  // A lane worker (no graylane heartbeat: the lane is dead to the drain throughout) fails each
  // job once, then goes away: the jobs wait out their backoff with attemptsMade 1.
  let failed = 0;
  const lane = new Worker(
    laneQueue,
    async () => {
      throw new Error('lane attempt fails');
    },
    { connection: broker.connection },
  );
  lane.on('failed', () => failed++);
  await until(() => failed === JOBS, 5_000);
  await lane.close();
}

describe('MQ-28 BullMQ: a drained job counts once, whatever its attempts', () => {
  const rows: Row[] = [
    ...(['stranded', 'delayed on the lane'] as const).flatMap((arrival) =>
      (
        [
          [1, 'succeeds on the last attempt'],
          [3, 'succeeds on the last attempt'],
          [3, 'fails every attempt'],
        ] as const
      ).map(([attempts, outcome]) => ({ arrival, attempts, outcome, client: 'ioredis' as const })),
    ),
    ...(['succeeds on the last attempt', 'fails every attempt'] as const).map((outcome) => ({
      arrival: 'failed once on the lane first' as const,
      attempts: 3,
      outcome,
      client: 'ioredis' as const,
    })),
    ...(['stranded', 'delayed on the lane'] as const).map((arrival) => ({
      arrival,
      attempts: 3,
      outcome: 'succeeds on the last attempt' as const,
      client: 'a client without eval' as const,
    })),
  ];
  it.each(rows)(
    'MQ-28 $arrival · attempts $attempts · $outcome · $client',
    async (row) => {
      const name = fresh('dc');
      const client: RedisLivenessLike =
        row.client === 'ioredis'
          ? broker.redis
          : {
              set: (k, v, m, ms) => broker.redis.set(k, v, m, ms),
              exists: (k) => broker.redis.exists(k),
            };
      const router = broker.router(name, { redis: client, ...TUNING });
      await arrive(router.queueFor('beta'), row);
      const [drained, otel] = [queueStats().drained, await moved()];
      const runs: string[] = [];
      const stable = router.worker('stable', async (job: Job) => {
        runs.push(`${String((job.data as { i: number }).i)}/${getGrayVersion()}`);
        if (row.outcome === 'fails every attempt' || job.attemptsMade < row.attempts - 1) {
          throw new Error('transient');
        }
      });
      const already = row.arrival === 'failed once on the lane first' ? 1 : 0;
      try {
        await until(() => runs.length === JOBS * (row.attempts - already), 8_000);
        await new Promise((r) => setTimeout(r, 150)); // a few more drain ticks
        expect(runs.every((r) => r.endsWith('/beta'))).toBe(true);
        expect(runs).toHaveLength(JOBS * (row.attempts - already));
        expect(queueStats().drained - drained).toBe(JOBS);
        expect((await moved()) - otel).toBe(JOBS);
      } finally {
        await stable.close();
        await router.close();
      }
    },
    15_000,
  );
});
