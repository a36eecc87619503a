import {
  DelayedError,
  Queue,
  Worker,
  type ConnectionOptions,
  type Job,
  type JobsOptions,
  type WorkerOptions,
} from 'bullmq';
import { DEFAULT_DRAIN_INTERVAL_MS, DEFAULT_HEARTBEAT_TTL_MS } from '../limits.js';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import type { MessageLanes } from '../lanes.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { assertClients } from '../routing/clients.js';
import { assertJobData } from '../routing/encodable.js';
import { assertLane, assertRetired, assertRouterOptions, laneName } from '../routing/names.js';
import { drainLanes, routeMessage } from '../routing/route.js';
import { jobDataWith, jobReader, withGrayJob } from './carrier.js';

/** The Redis commands lane liveness uses (an ioredis client satisfies it). */
export interface RedisLivenessLike {
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  exists(key: string): Promise<number>;
}

/** Options of {@link createBullLanes}. */
export interface BullLanesOptions {
  readonly lanes: MessageLanes;
  /** The logical queue. The default lane works `name`, lane `beta` works `name.lane.beta`. */
  readonly name: string;
  /** BullMQ connection for the queues and workers this creates. */
  readonly connection: ConnectionOptions;
  /** The Redis client liveness keys are written and read with. */
  readonly redis: RedisLivenessLike;
  /** BullMQ key prefix. Default `bull`. */
  readonly prefix?: string;
  /** Lane workers refresh their liveness key every third of this; it expires after it. Default 5000 ms. */
  readonly heartbeatTtlMs?: number;
  readonly liveness?: LivenessOptions;
  readonly drainIntervalMs?: number;
  /**
   * Versions removed from the config whose lane destinations may still hold messages: the
   * default lane's consumers keep draining them. (A version removed while they run is
   * remembered without this.)
   */
  readonly retiredLanes?: readonly string[];
}

/** A processor as BullMQ calls it. */
export type BullProcessor<R = unknown> = (
  job: Job,
  token?: string,
  signal?: AbortSignal,
) => Promise<R>;

/** A worker started by {@link BullLanes.worker}. */
export interface BullLaneWorker {
  readonly worker: Worker;
  /** Stops the heartbeat and the drain loop, then closes the worker(s). */
  close(): Promise<void>;
}

/** Lane-aware producing and working on one logical BullMQ queue. */
export interface BullLanes {
  queueFor(lane: string): string;
  /**
   * Adds a job carrying the current lane (or the `__gray` its caller set), to the queue of the lane
   * it carries while that lane has live workers, else to the base queue.
   */
  add(jobName: string, data: unknown, opts?: JobsOptions): Promise<Job>;
  /**
   * Adds jobs produced in the current lane, each routed by the marker it carries (a job whose data
   * cannot carry one, or whose caller set `__gray`, may go elsewhere). Atomic per destination queue.
   */
  addBulk(jobs: readonly { name: string; data: unknown; opts?: JobsOptions }[]): Promise<Job[]>;
  /** Works `lane`; a default-lane worker also works lanes that have no live worker (fallback). */
  worker(lane: string, processor: BullProcessor, options?: Partial<WorkerOptions>): BullLaneWorker;
  readonly liveness: Liveness;
  /** Closes the queues this created (not workers). */
  close(): Promise<void>;
}

/**
 * Lanes on BullMQ (Redis). Each non-default version has its own queue. A lane is alive while its
 * workers keep a Redis key (`SET … PX`) fresh, so a killed worker stops counting within the TTL:
 * a store Redis already is, no extra service. Producers route a lane's jobs to its queue only
 * while it is alive. Default-lane workers start a worker on each dead lane's queue (with their
 * own processor) and pause it when the lane comes back; BullMQ's stalled-job check in that worker
 * returns jobs a killed lane worker held to the wait list after their lock expires.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createMessageLanes } from '@graylane/queue';
 * import { createBullLanes } from '@graylane/queue/bullmq';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * const connection = { host: '127.0.0.1', port: 6379 };
 * const orders = createBullLanes({ lanes, name: 'orders', connection, redis: new Redis(connection) });
 * orders.worker('stable', async (job) => charge(job.data));
 * await orders.add('charge', { orderId: 42 });
 * ```
 */
export function createBullLanes(options: BullLanesOptions): BullLanes {
  assertRouterOptions(options, 'createBullLanes', ['name'], ['connection', 'redis']);
  assertClients(options, 'createBullLanes', [
    { field: 'redis', what: 'a Redis client such as ioredis', methods: ['set', 'exists'] },
  ]);
  const { lanes, name, connection, redis } = options;
  assertRetired(options.retiredLanes, 'createBullLanes');
  const prefix = options.prefix ?? 'bull';
  const ttl = options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
  const isDefault = (lane: string): boolean => lane === lanes.config().default;
  const queueFor = (lane: string): string => (isDefault(lane) ? name : laneName(name, lane));
  const aliveKey = (lane: string): string => `graylane:lanes:${prefix}:${name}:${lane}`;
  const queues = new Map<string, Queue>();
  const queue = (queueName: string): Queue => {
    let q = queues.get(queueName);
    if (!q) {
      q = new Queue(queueName, { connection, prefix });
      queues.set(queueName, q);
    }
    return q;
  };
  const liveness = createLiveness(
    async (lane) => (await redis.exists(aliveKey(lane))) > 0,
    options.liveness,
  );

  /** A job's data with the marker, and its queue: judged from what the job carries. */
  async function place(
    data: unknown,
    marker: OutgoingMarker | undefined,
  ): Promise<{ queue: Queue; data: unknown }> {
    const carried = jobDataWith(data, marker).data;
    const lane = await routeMessage(lanes, jobReader(lanes, carried), liveness);
    return { queue: queue(lane === undefined ? name : queueFor(lane)), data: carried };
  }

  const router: BullLanes = {
    liveness,
    queueFor,
    async add(jobName, data, opts) {
      assertJobData(data, 'createBullLanes().add');
      const t = await place(data, lanes.outgoing());
      return t.queue.add(jobName, t.data, opts);
    },
    async addBulk(jobs) {
      // Every job is checked before any is added: one refused job adds none.
      for (const j of jobs) assertJobData(j.data, 'createBullLanes().addBulk');
      const marker = lanes.outgoing();
      const placed = await Promise.all(jobs.map((j) => place(j.data, marker)));
      const byQueue = new Map<Queue, number[]>();
      placed.forEach((p, i) => {
        const group = byQueue.get(p.queue);
        if (group) group.push(i);
        else byQueue.set(p.queue, [i]);
      });
      const added: Job[] = [];
      // One addBulk (atomic in Redis) per destination queue; results in the caller's order.
      await Promise.all(
        [...byQueue].map(async ([q, indexes]) => {
          const jobsOfQueue = await q.addBulk(
            indexes.map((i) => {
              const job = jobs[i] as (typeof jobs)[number];
              return {
                name: job.name,
                data: placed[i]?.data,
                ...(job.opts ? { opts: job.opts } : {}),
              };
            }),
          );
          indexes.forEach((i, k) => (added[i] = jobsOfQueue[k] as Job));
        }),
      );
      return added;
    },
    worker(lane, processor, workerOptions = {}) {
      assertLane(lane, lanes.config().versions, 'createBullLanes().worker');
      const opts = { ...workerOptions, connection, prefix } as WorkerOptions;
      const wrapped = withGrayJob(lanes, processor, { served: lane });
      const worker = new Worker(queueFor(lane), wrapped, opts);
      worker.on('error', () => undefined);
      let heartbeat: { stop(): void } | undefined;
      let drain: DrainLoop | undefined;
      try {
        if (isDefault(lane)) drain = startBullDrain(router, lanes, wrapped, opts, options, worker);
        else heartbeat = startHeartbeat(redis, aliveKey(lane), ttl, worker);
      } catch (err) {
        // The caller never gets this worker: it must not go on taking jobs.
        void worker.close().catch(() => undefined);
        throw err;
      }
      return {
        worker,
        async close() {
          heartbeat?.stop();
          await drain?.stop();
          await worker.close();
        },
      };
    },
    async close() {
      const all = [...queues.values()];
      queues.clear();
      await Promise.all(all.map((q) => q.close()));
    },
  };
  return router;
}

/**
 * True while `worker` works its queue: started (`autorun`, or `run()` called), not paused, not
 * closing. A worker made with `autorun: false` and not yet started, or paused, serves nothing.
 */
function working(worker: Worker): boolean {
  return worker.isRunning() && !worker.isPaused() && !worker.closing;
}

/**
 * Keeps a lane's liveness key fresh while its worker works (see {@link working}); a dead process,
 * a worker never started, paused or closed stops counting within `ttl`.
 */
function startHeartbeat(
  redis: RedisLivenessLike,
  key: string,
  ttl: number,
  worker: Worker,
): { stop(): void } {
  const beat = (): void => {
    if (!working(worker)) return;
    // A client that throws, or returns no promise, only misses a beat (never an unhandled error).
    try {
      Promise.resolve(redis.set(key, '1', 'PX', ttl)).catch(() => undefined);
    } catch {
      // the next beat tries again
    }
  };
  beat();
  const timer = setInterval(beat, Math.max(1, Math.floor(ttl / 3)));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * The default lane's drain loop: a paused-or-running worker per dead lane, with the default
 * processor, while the default lane's own worker works (see {@link working}): a default worker
 * not started yet, paused or closing drains nothing, as it processes nothing. Drain workers
 * always run, whatever `autorun` the caller gave the default worker (it starts that one itself).
 */
function startBullDrain(
  router: BullLanes,
  lanes: MessageLanes,
  processor: BullProcessor,
  workerOptions: WorkerOptions,
  options: BullLanesOptions,
  owner: Worker,
): DrainLoop {
  const drainers = new Map<string, Worker>();
  const pause = async (lane: string): Promise<void> => {
    const w = drainers.get(lane);
    if (w && !w.isPaused()) await w.pause();
  };
  const loop = startDrain(
    drainLanes(lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        if (!working(owner)) return pause(lane);
        const existing = drainers.get(lane);
        if (existing) {
          if (existing.isPaused()) await existing.resume();
          return;
        }
        // A drainer fetches from the lane's queue until the loop's next tick pauses it; a lane
        // back in the meantime (its worker started, a producer saw it alive and routed a job
        // there) would lose jobs to the default lane. Each job is judged when fetched: a live
        // lane gets it back (delayed to now, so its own workers take it), the drainer pauses.
        const counted: BullProcessor = async (job, token, ...rest) => {
          if (await router.liveness.refresh(lane)) {
            void pause(lane).catch(() => undefined);
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
          countDrained(1, lane);
          return processor(job, token, ...rest);
        };
        const w = new Worker(router.queueFor(lane), counted, { ...workerOptions, autorun: true });
        w.on('error', () => undefined);
        drainers.set(lane, w);
      },
      onAlive: pause,
    },
    options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
  return {
    tick: loop.tick,
    async stop() {
      await loop.stop();
      await Promise.all([...drainers.values()].map((w) => w.close()));
      drainers.clear();
    },
  };
}
