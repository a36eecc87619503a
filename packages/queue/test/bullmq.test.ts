import { getGrayVersion, runWithGray } from '@graylane/node';
import { Job, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { createMessageLanes } from '../dist/index.js';
import { createBullLanes, grayJobData, withGrayJob } from '../dist/bullmq.js';
import { bullDriver } from './brokers/bullmq-driver.js';
import { startRedis } from './brokers/redis.js';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, fresh, until } from './helpers.js';
import { JOB_SHAPES, TRUSTS, lanesByTrust, onwardProblems } from './relay.js';
import { laneSuite } from './lane-suite.js';

laneSuite(() => bullDriver());

// One redis-server for the rows below the shared scenarios.
let started: Promise<{ port: number; redis: Redis; stop(): Promise<void> }> | undefined;
const redisServer = () =>
  (started ??= (async () => {
    const server = await startRedis();
    const redis = new Redis(server.port, '127.0.0.1');
    return {
      port: server.port,
      redis,
      async stop() {
        await redis.quit();
        await server.stop();
      },
    };
  })());
afterAll(async () => (await started)?.stop());

describe('MQ-07 BullMQ semantics stay BullMQ’s own', () => {
  it('MQ-07 a throwing processor fails the job with its own error, retries per attempts, then completes', async () => {
    const { port, redis } = await redisServer();
    const connection = { host: '127.0.0.1', port };
    const lanes = createMessageLanes({ config: CONFIG });
    const router = createBullLanes({ lanes, name: 'mq07', connection, redis });
    const attempts: string[] = [];
    const w = router.worker('stable', async (job) => {
      attempts.push(getGrayVersion());
      if (job.attemptsMade === 0) throw new Error('first attempt fails');
      return 'done';
    });
    const events = new QueueEvents('mq07', { connection });
    await events.waitUntilReady();
    const job = await runWithGray('beta', () => router.add('j', { n: 1 }, { attempts: 2 }));
    await expect(job.waitUntilFinished(events, 20_000)).resolves.toBe('done');
    const reader = new Queue('mq07', { connection });
    const done = await Job.fromId(reader, job.id as string);
    await reader.close();
    expect(done?.attemptsMade).toBe(2);
    expect((done?.stacktrace ?? []).join('\n')).toMatch(/first attempt fails/);
    expect(attempts).toEqual(['beta', 'beta']);
    await events.close();
    await w.close();
    await router.close();
  });
});

describe('MQ-21 BullMQ: a worker serves (and its lane lives) only while it runs', () => {
  const tuned = { liveness: { intervalMs: 50, graceMs: 0 }, drainIntervalMs: 50 };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const strand = async (connection: ConnectionOptions, queue: string, n: number) => {
    const q = new Queue(queue, { connection });
    await q.addBulk(
      Array.from({ length: n }, (_, i) => ({ name: 'm', data: { i, __gray: 'beta' } })),
    );
    await q.close();
  };

  it.each([
    ['created with autorun: false, started with run()', 'run'],
    ['paused, then resumed', 'pause'],
  ] as const)(
    'MQ-21 the default worker %s: a dead lane drains while it runs, never while it does not',
    async (_name, how) => {
      const { port, redis } = await redisServer();
      const connection = { host: '127.0.0.1', port };
      const lanes = createMessageLanes({ config: CONFIG });
      const router = createBullLanes({ lanes, name: fresh('ar'), connection, redis, ...tuned });
      const seen: string[] = [];
      const w = router.worker(
        'stable',
        async (job) =>
          void seen.push(`${String((job.data as { i: number }).i)}/${getGrayVersion()}`),
        how === 'run' ? { autorun: false } : {},
      );
      try {
        if (how === 'pause') {
          await w.worker.waitUntilReady();
          await w.worker.pause();
        }
        await strand(connection, router.queueFor('beta'), 5);
        await wait(400); // several drain ticks: nothing may run while the worker does not
        expect(seen).toEqual([]);
        if (how === 'run') void w.worker.run();
        else void w.worker.resume();
        await until(() => seen.length === 5, 10_000);
        expect(seen.sort()).toEqual(['0/beta', '1/beta', '2/beta', '3/beta', '4/beta']);
      } finally {
        await w.close();
        await router.close();
      }
    },
  );

  it.each([
    ['created with autorun: false: dead until run()', 'run'],
    ['paused: dead within the TTL, alive again once resumed', 'pause'],
  ] as const)('MQ-21 a lane worker %s', async (_name, how) => {
    const { port, redis } = await redisServer();
    const connection = { host: '127.0.0.1', port };
    const lanes = createMessageLanes({ config: CONFIG });
    const router = createBullLanes({
      lanes,
      name: fresh('hb'),
      connection,
      redis,
      heartbeatTtlMs: 200,
      ...tuned,
    });
    const w = router.worker('beta', async () => undefined, how === 'run' ? { autorun: false } : {});
    try {
      if (how === 'pause') {
        await until(() => router.liveness.refresh('beta'));
        await w.worker.pause();
      }
      await wait(300); // past the TTL
      expect(await router.liveness.refresh('beta')).toBe(false);
      if (how === 'run') void w.worker.run();
      else void w.worker.resume();
      await until(() => router.liveness.refresh('beta'), 2_000);
    } finally {
      await w.close();
      await router.close();
    }
  });
});

describe('MQ-01 BullMQ: a lane back while the default worker drains it gets every job routed to it', () => {
  // The default worker's drainer on beta's queue runs until its loop's next tick notices the lane
  // is back. Jobs a producer routes to the live lane meanwhile are the lane's: none may be
  // processed by the default lane's processor. The drainer, blocked on the queue first, is the
  // one Redis hands a new job to first.
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const rows = [1, 20].flatMap((concurrency) =>
    (
      [
        ['router.add', 1],
        ['router.add', 30],
        ['router.addBulk', 30],
        ['another router', 30],
      ] as const
    ).map(([producer, jobs]) => ({ concurrency, producer, jobs })),
  );
  it.each(rows)(
    'MQ-01 drainer concurrency $concurrency, $jobs job(s) by $producer',
    async ({ concurrency, producer, jobs }) => {
      const { port, redis } = await redisServer();
      const connection = { host: '127.0.0.1', port };
      const lanes = createMessageLanes({ config: CONFIG });
      const name = fresh('back');
      const tuning = { liveness: { intervalMs: 50, graceMs: 0 }, drainIntervalMs: 400 };
      const router = createBullLanes({ lanes, name, connection, redis, ...tuning });
      const other = createBullLanes({ lanes, name, connection, redis, ...tuning });
      const seen: string[] = [];
      const record = (who: string) => async (job: Job) =>
        void seen.push(`${String((job.data as { i: number }).i)}:${who}/${getGrayVersion()}`);
      // The default worker first: its first drain tick finds beta dead and starts a drainer.
      const stable = router.worker('stable', record('stable'), { concurrency });
      await stable.worker.waitUntilReady();
      const betaQueue = new Queue(router.queueFor('beta'), { connection });
      await until(async () => (await betaQueue.getWorkers()).length > 0, 5_000);
      await betaQueue.close();
      const beta = router.worker('beta', record('beta'), { concurrency: 5 });
      try {
        await until(() => router.liveness.refresh('beta'));
        const publisher = producer === 'another router' ? other : router;
        await until(() => publisher.liveness.refresh('beta'));
        const data = Array.from({ length: jobs }, (_, i) => ({ i }));
        if (producer === 'router.addBulk')
          await runWithGray('beta', () =>
            publisher.addBulk(data.map((d) => ({ name: 'm', data: d }))),
          );
        else for (const d of data) await runWithGray('beta', () => publisher.add('m', d));
        await until(() => seen.length === jobs, 15_000);
        await wait(100);
        expect(seen.filter((s) => !s.endsWith(':beta/beta'))).toEqual([]);
        expect(seen).toHaveLength(jobs);
      } finally {
        await beta.close();
        await stable.close();
        await other.close();
        await router.close();
      }
    },
    30_000,
  );

  it('MQ-01 control: a lane that stays dead is still drained by the default worker', async () => {
    const { port, redis } = await redisServer();
    const connection = { host: '127.0.0.1', port };
    const lanes = createMessageLanes({ config: CONFIG });
    const tuning = { liveness: { intervalMs: 50, graceMs: 0 }, drainIntervalMs: 50 };
    const router = createBullLanes({ lanes, name: fresh('dead'), connection, redis, ...tuning });
    const seen: string[] = [];
    const stable = router.worker('stable', async (job: Job) => {
      seen.push(`${String((job.data as { i: number }).i)}/${getGrayVersion()}`);
    });
    try {
      const q = new Queue(router.queueFor('beta'), { connection });
      await q.addBulk([0, 1, 2].map((i) => ({ name: 'm', data: { i, __gray: 'beta' } })));
      await q.close();
      await until(() => seen.length === 3, 10_000);
      expect(seen.sort()).toEqual(['0/beta', '1/beta', '2/beta']);
    } finally {
      await stable.close();
      await router.close();
    }
  });
});

describe('GW-01 BullMQ: a processor re-enqueuing the job data it received forwards the version decided here', () => {
  // Every row carries every __gray shape of JOB_SHAPES; each processor relays its job two ways:
  // queue.add(name, grayJobData(lanes, job.data)) and another router's add(name, job.data).
  const ENTRIES = ['router.worker', 'withGrayJob'] as const;
  const rows = TRUSTS.flatMap((trust) => ENTRIES.map((entry) => ({ trust, entry })));

  it.each(rows)('GW-01 bullmq $trust · $entry · every __gray shape', async ({ trust, entry }) => {
    const { port, redis } = await redisServer();
    const connection = { host: '127.0.0.1', port };
    const lanes = lanesByTrust()[trust];
    const inbound = createBullLanes({ lanes, name: fresh('gwin'), connection, redis });
    const forward = createBullLanes({ lanes, name: fresh('gwfwd'), connection, redis });
    const out = new Queue(fresh('gwout'), { connection });
    const got = new Map<number, { version: string; data: Record<string, unknown> }>();
    const processor = async (job: Job) => {
      const data = job.data as Record<string, unknown>;
      got.set(data.i as number, { version: getGrayVersion(), data: { ...data } });
      await out.add('r', grayJobData(lanes, data));
      await forward.add('r', data);
    };
    const raw = fresh('gwraw');
    const worker =
      entry === 'router.worker'
        ? inbound.worker('stable', processor)
        : { worker: new Worker(raw, withGrayJob(lanes, processor), { connection }) };
    const source = new Queue(entry === 'router.worker' ? inbound.queueFor('stable') : raw, {
      connection,
    });
    try {
      await source.addBulk(
        JOB_SHAPES.map((shape, i) => ({ name: 'm', data: { i, __gray: shape.value } })),
      );
      await until(() => got.size === JOB_SHAPES.length, 10_000);
      const onward = async (q: Queue) =>
        (await q.getJobs(['wait', 'prioritized', 'delayed'])).map(
          (j) => j.data as Record<string, unknown>,
        );
      await until(async () => (await onward(out)).length === JOB_SHAPES.length, 5_000);
      const fwd = ['stable', 'beta'].map((l) => new Queue(forward.queueFor(l), { connection }));
      const relayed = {
        grayJobData: await onward(out),
        'router.add': (await Promise.all(fwd.map(onward))).flat(),
      };
      await Promise.all(fwd.map((q) => q.close()));
      const wrong = JOB_SHAPES.flatMap((shape, i) => {
        const want = shape.expect[trust];
        const r = got.get(i);
        const problems: string[] = [];
        if (r?.version !== want.version) problems.push(`version ${r?.version}`);
        const kept = r !== undefined && Object.hasOwn(r.data, '__gray');
        if (kept !== want.kept) problems.push(`__gray ${kept ? 'kept' : 'gone'}`);
        else if (kept && JSON.stringify(r?.data.__gray) !== JSON.stringify(shape.value)) {
          problems.push(`__gray ${JSON.stringify(r?.data.__gray)}`);
        }
        for (const [path, jobs] of Object.entries(relayed)) {
          const job = jobs.find((d) => d.i === i);
          const marker = job?.__gray as string | string[] | undefined;
          for (const p of job
            ? onwardProblems({ 'x-gray-id': marker }, want.version)
            : ['missing']) {
            problems.push(`${path}: ${p}`);
          }
        }
        return problems.length === 0 ? [] : [{ shape: shape.name, problems }];
      });
      expect(wrong).toEqual([]);
    } finally {
      await worker.worker.close();
      await source.close();
      await out.close();
      await inbound.close();
      await forward.close();
    }
  });
});
