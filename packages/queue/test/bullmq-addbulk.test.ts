// MQ-26 (review 149 D2): `addBulk` with a job BullMQ refuses adds none of the batch, as one plain
// `Queue#addBulk` adds none. A router's batch spans the base queue and the live lanes' queues,
// each added by its own `Queue#addBulk`; the router used to reject with BullMQ's error after
// another queue had taken its part (a caller retrying then ran those jobs twice). Every refusal
// BullMQ's `Job.createBulk` makes (`validateOptions`, `asJSON`) is a row; the oracle is a plain
// queue given the same batch. Real redis-server; beta's liveness through its real key.
import { runWithGray } from '@graylane/node';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createBullLanes, type BullLanes } from '../dist/bullmq.js';
import { startRedis } from './brokers/redis.js';

const CONFIG = { versions: ['stable', 'beta'], default: 'stable' } as const;
const lanes = createMessageLanes({ config: CONFIG });
let server: Awaited<ReturnType<typeof startRedis>>;
let redis: Redis;
let connection: { host: string; port: number };
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.port, '127.0.0.1');
  connection = { host: '127.0.0.1', port: server.port };
}, 30_000);
afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await redis?.quit();
  await server?.stop();
}, 30_000);

let counter = 0;
const fresh = (prefix: string): string => `${prefix}${process.pid}x${++counter}`.toUpperCase();
const STATES = ['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** A router on a fresh logical queue whose beta lane is alive (its heartbeat key is set). */
async function router(): Promise<{ name: string; orders: BullLanes; queues: Queue[] }> {
  const name = fresh('BULK');
  await redis.set(`graylane:lanes:bull:${name}:beta`, '1', 'PX', 60_000);
  const orders = createBullLanes({
    lanes,
    name,
    connection,
    redis,
    liveness: { intervalMs: 0, graceMs: 0 },
  });
  const queues = [name, orders.queueFor('beta')].map((q) => new Queue(q, { connection }));
  closers.push(() => orders.close(), ...queues.map((q) => () => q.close()));
  return { name, orders, queues };
}

/** Everything a logical queue holds: jobs in any state, dedup keys, graylane's id claims. */
async function held(name: string, queues: Queue[]): Promise<string[]> {
  const out: string[] = [];
  for (const q of queues) {
    for (const j of await q.getJobs([...STATES])) out.push(`${q.name}:${j.id ?? ''}`);
    out.push(...(await redis.keys(`bull:${q.name}:de:*`)));
  }
  out.push(...(await redis.keys(`graylane:ids:bull:${name}:*`)));
  return out.sort();
}

type Lane = 'stable' | 'beta';
interface BatchJob {
  name: string;
  data: Record<string, unknown>;
  opts?: JobsOptions;
}
const job = (tag: string, lane: Lane, opts?: JobsOptions): BatchJob => ({
  name: tag,
  data: { tag, __gray: lane },
  ...(opts ? { opts } : {}),
});

/** Every option set BullMQ refuses a job for (bullmq 6's `Job#validateOptions` and `asJSON`). */
const REFUSED: readonly [string, JobsOptions][] = [
  ['an integer custom id', { jobId: '5' }],
  ['a negative integer custom id', { jobId: '-7' }],
  ['custom id 0', { jobId: '0' }],
  ['a custom id with one colon', { jobId: 'a:b' }],
  ['a custom id with three colons', { jobId: 'a:b:c:d' }],
  ['a float priority', { priority: 1.5 }],
  ['a priority above 2^21 - 1', { priority: 2 ** 21 }],
  ['deduplication without an id', { deduplication: {} as never }],
  ['deduplication with an empty id', { deduplication: { id: '' } }],
  [
    'deduplication with a parent',
    { deduplication: { id: 'dp' }, parent: { id: 'p', queue: 'bull:parents' } },
  ],
  ['the removed debounce option', { debounce: {} } as never],
  ['backoff jitter above 1', { backoff: { type: 'fixed', delay: 10, jitter: 2 } }],
  ['backoff jitter below 0', { backoff: { type: 'exponential', delay: 10, jitter: -0.5 } }],
  ['two parent-failure policies', { failParentOnFailure: true, removeDependencyOnFailure: true }],
  [
    'three parent-failure policies',
    {
      ignoreDependencyOnFailure: true,
      continueParentOnFailure: true,
      failParentOnFailure: true,
    } as never,
  ],
  ['data over its sizeLimit', { sizeLimit: 8 }],
];

/** What a plain queue does with `batch`: BullMQ's verdict, and that it added nothing. */
async function plainVerdict(batch: BatchJob[]): Promise<string> {
  const plain = new Queue(fresh('PLAIN'), { connection });
  try {
    const err = await plain.addBulk(batch).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (err === undefined) throw new Error('the oracle accepted a batch this row says it refuses');
    expect(await plain.getJobs([...STATES])).toEqual([]);
    return err.message;
  } finally {
    await plain.close();
  }
}

describe('MQ-26 BullMQ: a batch with a job BullMQ refuses adds none, on any lane, in any order', () => {
  // Each batch: jobs for both lanes (some with a jobId or deduplication id, so graylane claims
  // them), and the refused job on one lane, first or last; or a refused job on each lane.
  const SHAPES = [
    ['on beta, first', ['beta'], 'first'],
    ['on beta, last', ['beta'], 'last'],
    ['on stable, first', ['stable'], 'first'],
    ['on stable, last', ['stable'], 'last'],
    ['on both lanes (control: each queue refuses its part)', ['stable', 'beta'], 'last'],
  ] as const;
  const rows = REFUSED.flatMap(([refusal, opts]) =>
    SHAPES.map(([shape, refusedOn, at]) => ({ refusal, opts, shape, refusedOn, at })),
  );
  it.each(rows)('MQ-26 $refusal, $shape', async ({ opts, refusedOn, at }) => {
    const { name, orders, queues } = await router();
    const good = [
      job('b1', 'beta'),
      job('s1', 'stable', { jobId: `keep-s-${name}` }),
      job('b2', 'beta', { deduplication: { id: `dedup-b-${name}` } }),
      job('s2', 'stable'),
    ];
    const bad = refusedOn.map((lane) => job(`bad-${lane}-${'x'.repeat(16)}`, lane, opts));
    const batch = at === 'first' ? [...bad, ...good] : [...good, ...bad];
    const expected = await plainVerdict(batch);
    const got = await orders.addBulk(batch).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(await held(name, queues)).toEqual([]);
    expect(got?.message).toBe(expected);
    // The caller's retry without the refused job adds each job once, on its lane.
    const added = await orders.addBulk(good);
    expect(added.map((j: Job) => `${j.name}@${j.queueName}`)).toEqual([
      `b1@${orders.queueFor('beta')}`,
      `s1@${name}`,
      `b2@${orders.queueFor('beta')}`,
      `s2@${name}`,
    ]);
    expect(await held(name, queues)).toHaveLength(5); // four jobs and b2's dedup key
  });

  it.each(REFUSED)(
    'MQ-26 control: add() of a job with %s is refused as Queue#add refuses it, nothing added',
    async (_refusal, opts) => {
      const { name, orders, queues } = await router();
      const plain = new Queue(fresh('PLAIN'), { connection });
      closers.push(() => plain.close());
      const data = { tag: `x-${'x'.repeat(16)}` };
      const expected = await plain.add('x', data, opts).then(
        () => 'added',
        (e: unknown) => (e as Error).message,
      );
      expect(expected).not.toBe('added');
      for (const lane of CONFIG.versions) {
        const got = await runWithGray(lane, () => orders.add('x', data, opts)).then(
          () => 'added',
          (e: unknown) => (e as Error).message,
        );
        expect(got).toBe(expected);
      }
      expect(await held(name, queues)).toEqual([]);
    },
  );
});

describe('MQ-26 BullMQ: options BullMQ accepts still add every job of the batch once (controls)', () => {
  // Unvalidated by BullMQ (it stores them as given): the router must not refuse them either.
  const ACCEPTED: readonly [string, JobsOptions][] = [
    ['a custom id with two colons', { jobId: 'a:b:c' }],
    ['a custom id with a leading zero', { jobId: '05' }],
    ['a negative delay', { delay: -5 }],
    ['negative attempts', { attempts: -1 }],
    ['a numeric backoff', { backoff: 5 }],
    ['the highest priority', { priority: 2 ** 21 - 1 }],
    ['backoff jitter 1', { backoff: { type: 'fixed', delay: 10, jitter: 1 } }],
    ['one parent-failure policy', { failParentOnFailure: true }],
  ];
  it.each(ACCEPTED)('MQ-26 control: %s', async (_label, opts) => {
    const { name, orders, queues } = await router();
    const batch = [job('b1', 'beta'), job('s1', 'stable', opts), job('s2', 'stable')];
    const added = await orders.addBulk(batch);
    expect(added.map((j: Job) => `${j.name}@${j.queueName}`)).toEqual([
      `b1@${orders.queueFor('beta')}`,
      `s1@${name}`,
      `s2@${name}`,
    ]);
    expect(await held(name, queues)).toHaveLength(3);
  });
});
