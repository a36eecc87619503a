// MQ-26 (review 139 D2): a job id the app gives (`jobId`, `deduplication.id`) stays one job across
// a logical queue's lanes, as BullMQ keeps it one job in one queue — whatever the lane's liveness
// does between an idempotent producer's attempts, whichever router or API adds it, however the
// attempts race. Against a real redis-server; lane liveness is driven through its real key.
import { getGrayVersion, runWithGray } from '@graylane/node';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import type { BullLanes } from '../dist/bullmq.js';
import { CONFIG, fresh, until, useBullBroker } from './helpers.js';

const broker = useBullBroker(createMessageLanes({ config: CONFIG }));

/** Liveness asked on every add (no cache, no grace): each attempt sees the key as it is now. */
const EAGER = { liveness: { intervalMs: 0, graceMs: 0 } } as const;
const ALL_STATES = [
  'wait',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
  'waiting-children',
] as const;

/** Beta's liveness key, as a beta worker's heartbeat writes it. */
async function betaAlive(name: string, alive: boolean, prefix = 'bull'): Promise<void> {
  const key = `graylane:lanes:${prefix}:${name}:beta`;
  if (alive) await broker.redis.set(key, '1', 'PX', 60_000);
  else await broker.redis.del(key);
}

/** Readers of a logical queue's two queues, opened once per name. */
const readers = new Map<string, Queue[]>();
afterAll(async () => {
  await Promise.all([...readers.values()].flat().map((q) => q.close()));
});

/** Every job of the logical queue `name` whose data has `key`, with the queue it sits in. */
async function jobsWith(name: string, key: string, prefix = 'bull'): Promise<string[]> {
  return (await jobsByKey(name, prefix)).get(key) ?? [];
}

/** The queues each `data.key` of the logical queue `name` has a job in. */
async function jobsByKey(name: string, prefix = 'bull'): Promise<Map<string, string[]>> {
  let queues = readers.get(`${prefix}/${name}`);
  if (!queues) {
    queues = [name, `${name}.lane.beta`].map(
      (q) => new Queue(q, { connection: broker.connection, prefix }),
    );
    readers.set(`${prefix}/${name}`, queues);
  }
  const found = new Map<string, string[]>();
  for (const queue of queues) {
    for (const j of await queue.getJobs([...ALL_STATES])) {
      const key = (j.data as { key?: string }).key;
      if (key !== undefined) found.set(key, [...(found.get(key) ?? []), queue.name]);
    }
  }
  return found;
}

/**
 * Two routers of one logical queue per prefix, shared by the rows that only add (each row its own
 * ids; rows run one after another, as they drive beta's liveness key).
 */
const shared = new Map<string, { name: string; a: BullLanes; b: BullLanes }>();
function routersOf(prefix = 'bull'): { name: string; a: BullLanes; b: BullLanes } {
  let r = shared.get(prefix);
  if (!r) {
    const name = fresh('ids');
    r = {
      name,
      a: broker.router(name, { prefix, ...EAGER }),
      b: broker.router(name, { prefix, ...EAGER }),
    };
    shared.set(prefix, r);
  }
  return r;
}
afterAll(async () => {
  await Promise.all([...shared.values()].flatMap((r) => [r.a.close(), r.b.close()]));
});

type Identity = 'jobId' | 'deduplication' | 'deduplication with ttl' | 'jobId + deduplication';
const IDENTITIES: readonly Identity[] = [
  'jobId',
  'deduplication',
  'deduplication with ttl',
  'jobId + deduplication',
];
function optsFor(identity: Identity, id: string, extra: JobsOptions = {}): JobsOptions {
  switch (identity) {
    case 'jobId':
      return { ...extra, jobId: id };
    case 'deduplication':
      return { ...extra, deduplication: { id } };
    case 'deduplication with ttl':
      return { ...extra, deduplication: { id, ttl: 60_000 } };
    case 'jobId + deduplication':
      return { ...extra, jobId: id, deduplication: { id: `d-${id}` } };
  }
}

/** One attempt of the producer: beta's liveness then, the lane it is produced in, the API. */
interface Attempt {
  readonly alive: boolean;
  /** `runWithGray(in)`, none (outside any lane), or `__gray` set in the data by the caller. */
  readonly in: 'beta' | 'stable' | 'none' | '__gray: beta';
  readonly router?: 'a' | 'b';
}
const SCENARIOS: readonly { name: string; attempts: readonly Attempt[] }[] = [
  {
    name: 'lane alive, then dead (a rollout restarts beta)',
    attempts: [
      { alive: true, in: 'beta' },
      { alive: false, in: 'beta' },
    ],
  },
  {
    name: 'lane dead, then alive',
    attempts: [
      { alive: false, in: 'beta' },
      { alive: true, in: 'beta' },
    ],
  },
  {
    name: 'alive, dead, alive again',
    attempts: [
      { alive: true, in: 'beta' },
      { alive: false, in: 'beta' },
      { alive: true, in: 'beta' },
    ],
  },
  {
    name: 'retried outside any lane',
    attempts: [
      { alive: true, in: 'beta' },
      { alive: true, in: 'none' },
    ],
  },
  {
    name: 'first in stable, retried in beta',
    attempts: [
      { alive: true, in: 'stable' },
      { alive: true, in: 'beta' },
    ],
  },
  {
    name: 'marker set by the caller in data',
    attempts: [
      { alive: true, in: '__gray: beta' },
      { alive: false, in: '__gray: beta' },
    ],
  },
  {
    name: 'retried by another router of the same queue',
    attempts: [
      { alive: true, in: 'beta', router: 'a' },
      { alive: false, in: 'beta', router: 'b' },
    ],
  },
];
type Api = 'add' | 'addBulk' | 'addBulk with other jobs';
const APIS: readonly Api[] = ['add', 'addBulk', 'addBulk with other jobs'];

describe('MQ-26 BullMQ: a job id stays one job across lanes', () => {
  const rows = IDENTITIES.flatMap((identity) =>
    APIS.flatMap((api) => SCENARIOS.map((scenario) => ({ identity, api, scenario }))),
  );
  it.each(rows)('MQ-26 $identity · $api · $scenario.name', async ({ identity, api, scenario }) => {
    const { name, ...routers } = routersOf();
    const key = fresh('order-');
    const added: Job[] = [];
    for (const attempt of scenario.attempts) {
      await betaAlive(name, attempt.alive);
      const router = routers[attempt.router ?? 'a'];
      const data = attempt.in === '__gray: beta' ? { key, __gray: 'beta' } : { key };
      const opts = optsFor(identity, key);
      const send = async (): Promise<Job> => {
        if (api === 'add') return router.add('charge', data, opts);
        const others = api === 'addBulk' ? [] : [{ name: 'other', data: { n: 1 } }];
        const jobs = await router.addBulk([...others, { name: 'charge', data, opts }, ...others]);
        return jobs[others.length] as Job;
      };
      const lane = attempt.in === 'beta' || attempt.in === 'stable' ? attempt.in : undefined;
      added.push(await (lane === undefined ? send() : runWithGray(lane, send)));
    }
    const where = await jobsWith(name, key);
    expect(where).toHaveLength(1);
    // Every attempt answered with the one job, in the queue it sits in.
    expect(added.map((j) => `${j.queueName}/${String(j.id)}`)).toEqual(
      added.map(() => `${where[0]}/${String(added[0]?.id)}`),
    );
    expect(await broker.redis.keys(`graylane:ids:bull:${name}:*`)).toEqual([]);
  });
});

describe('MQ-26 BullMQ: producers racing on one id, each seeing a different lane state', () => {
  // Router `a` sees beta alive (its key), router `b` through a client whose liveness answer is
  // stale (dead): without a shared decision each sends the same id to a different queue.
  const rows = IDENTITIES.flatMap((identity) =>
    (['add', 'addBulk', 'addBulk with the id twice'] as const).map((api) => ({ identity, api })),
  );
  let racers: { name: string; a: BullLanes; b: BullLanes } | undefined;
  const racing = () => {
    if (racers) return racers;
    const name = fresh('race');
    const stale = new Proxy(broker.redis, {
      get(target, prop, receiver) {
        if (prop === 'exists') return async () => 0;
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const a = broker.router(name, EAGER);
    const b = broker.router(name, { redis: stale, ...EAGER });
    return (racers = { name, a, b });
  };
  afterAll(async () => {
    await racers?.a.close();
    await racers?.b.close();
  });
  it.each(rows)(
    'MQ-26 $identity · $api · 10 ids × 6 racing attempts',
    async ({ identity, api }) => {
      const { name, a, b } = racing();
      await betaAlive(name, true);
      const keys = Array.from({ length: 10 }, () => fresh('k'));
      await Promise.all(
        keys.flatMap((key) =>
          [a, b, a, b, b, a].map((router) =>
            runWithGray('beta', async () => {
              const job = { name: 'charge', data: { key }, opts: optsFor(identity, key) };
              if (api === 'add') await router.add(job.name, job.data, job.opts);
              else if (api === 'addBulk') await router.addBulk([job]);
              else await router.addBulk([job, job]);
            }),
          ),
        ),
      );
      const found = await jobsByKey(name);
      expect(keys.map((k) => found.get(k)?.length ?? 0)).toEqual(keys.map(() => 1));
      expect(await broker.redis.keys(`graylane:ids:bull:${name}:*`)).toEqual([]);
    },
  );
});

describe('MQ-26 BullMQ: ids of every shape, prefixes, and what BullMQ refuses', () => {
  const IDS = [
    'order-42',
    'with space',
    'ünïcødé-🚀',
    '__proto__',
    'constructor',
    'a:b:c',
    'x'.repeat(2_000),
    'de',
  ];
  const rows = IDS.flatMap((id) =>
    (['bull', '{tagged}'] as const).flatMap((prefix) =>
      (['jobId', 'deduplication'] as const).map((identity) => ({ id, prefix, identity })),
    ),
  );
  it.each(rows)(
    'MQ-26 $identity $id (prefix $prefix): alive → dead → alive, one job',
    async ({ id, prefix, identity }) => {
      const { name, a: router } = routersOf(prefix);
      const key = fresh('k');
      for (const alive of [true, false, true]) {
        await betaAlive(name, alive, prefix);
        await runWithGray('beta', () => router.add('charge', { key }, optsFor(identity, id)));
      }
      expect(await jobsWith(name, key, prefix)).toHaveLength(1);
      expect(await broker.redis.keys(`graylane:ids:${prefix}:${name}:*`)).toEqual([]);
    },
  );

  const REFUSED: readonly [string, JobsOptions][] = [
    ['an integer jobId', { jobId: '42' }],
    ['a jobId with one colon', { jobId: 'a:b' }],
    ['jobId 0', { jobId: '0' }],
    ['deduplication without id', { deduplication: { id: '' } }],
  ];
  it.each(REFUSED.map(([what, opts]) => ({ what, opts })))(
    'MQ-26 $what: BullMQ’s own error, nothing added, no claim left behind',
    async ({ opts }) => {
      const name = fresh('refused');
      const router = broker.router(name, EAGER);
      await betaAlive(name, true);
      try {
        const plain = new Queue(`${name}-plain`, { connection: broker.connection });
        const want = await plain.add('j', {}, opts).then(
          () => 'added',
          (e: Error) => e.message,
        );
        await plain.obliterate({ force: true });
        await plain.close();
        const got = await runWithGray('beta', () => router.add('charge', { key: 'k' }, opts)).then(
          () => 'added',
          (e: Error) => e.message,
        );
        expect(got).toBe(want);
        expect(await broker.redis.keys(`graylane:ids:bull:${name}:*`)).toEqual([]);
      } finally {
        await router.close();
      }
    },
  );

  it('MQ-26 a redis client without eval: a job with an id is refused (INVALID_OPTIONS, nothing added); without one it is routed', async () => {
    const name = fresh('noeval');
    const bare = {
      set: (k: string, v: string, m: 'PX', ms: number) => broker.redis.set(k, v, m, ms),
      exists: (k: string) => broker.redis.exists(k),
    };
    const router = broker.router(name, { redis: bare, ...EAGER });
    await betaAlive(name, true);
    try {
      for (const opts of [{ jobId: 'x1' }, { deduplication: { id: 'x1' } }] as JobsOptions[]) {
        await expect(
          runWithGray('beta', () => router.add('charge', { key: 'refused' }, opts)),
        ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
        await expect(
          runWithGray('beta', () =>
            router.addBulk([
              { name: 'ok', data: { key: 'refused' } },
              { name: 'charge', data: { key: 'refused' }, opts },
            ]),
          ),
        ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      }
      expect(await jobsWith(name, 'refused')).toEqual([]);
      const job = await runWithGray('beta', () => router.add('charge', { key: 'plain' }));
      expect(job.queueName).toBe(`${name}.lane.beta`);
    } finally {
      await router.close();
    }
  });

  it('MQ-26 control: jobs without an id still follow the lane’s liveness on every attempt', async () => {
    const name = fresh('noid');
    const router = broker.router(name, EAGER);
    try {
      const queues: string[] = [];
      for (const alive of [true, false, true]) {
        await betaAlive(name, alive);
        queues.push((await runWithGray('beta', () => router.add('j', { key: 'x' }))).queueName);
      }
      expect(queues).toEqual([`${name}.lane.beta`, name, `${name}.lane.beta`]);
    } finally {
      await router.close();
    }
  });
});

describe('MQ-26 BullMQ: with real workers, an idempotent retry never runs a job twice', () => {
  // The review's case: the job runs on beta, beta restarts, the producer retries. And a job
  // still waiting on the lane when beta dies: the default worker drains it in place, id kept.
  const tuning = {
    heartbeatTtlMs: 300,
    liveness: { intervalMs: 50, graceMs: 0 },
    drainIntervalMs: 50,
  } as const;
  const rows = (
    [
      ['jobId', 'ran on beta before the restart'],
      ['jobId', 'waiting (delayed) on beta when it died'],
      ['deduplication', 'waiting (delayed) on beta when it died'],
      ['deduplication with ttl', 'ran on beta before the restart'],
      ['deduplication with ttl', 'waiting (delayed) on beta when it died'],
    ] as const
  ).map(([identity, state]) => ({ identity, state }));
  it.concurrent.each(rows)('MQ-26 $identity · $state', async ({ identity, state }) => {
    const name = fresh('run');
    const router = broker.router(name, tuning);
    const runs: string[] = [];
    const record = (who: string) => async (job: Job) =>
      void runs.push(`${who}/${getGrayVersion()}/${(job.data as { key: string }).key}`);
    const stable = router.worker('stable', record('stable'));
    const beta = router.worker('beta', record('beta'));
    const key = fresh('k');
    try {
      await until(() => router.liveness.refresh('beta'), 5_000);
      const extra = state === 'ran on beta before the restart' ? {} : { delay: 400 };
      const add = () =>
        runWithGray('beta', () => router.add('charge', { key }, optsFor(identity, key, extra)));
      const first = await add();
      expect(first.queueName).toBe(`${name}.lane.beta`);
      if (state === 'ran on beta before the restart') await until(() => runs.length === 1, 5_000);
      await beta.close();
      await until(async () => !(await router.liveness.refresh('beta')), 5_000);
      const retry = await add();
      expect(`${retry.queueName}/${String(retry.id)}`).toBe(
        `${first.queueName}/${String(first.id)}`,
      );
      await until(() => runs.length === 1, 5_000);
      await new Promise((r) => setTimeout(r, 600)); // past the delay and several drain ticks
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatch(/\/beta\//);
    } finally {
      await beta.close();
      await stable.close();
      await router.close();
    }
  });
});
