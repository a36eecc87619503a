import {
  Queue,
  type ConnectionOptions,
  type Worker,
  type Job,
  type JobsOptions,
  type WorkerOptions,
} from 'bullmq';
import { DEFAULT_HEARTBEAT_TTL_MS } from '../limits.js';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import type { MessageLanes } from '../lanes.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { assertClients } from '../routing/clients.js';
import { assertJobData } from '../routing/encodable.js';
import { assertLane, assertRetired, assertRouterOptions, laneName } from '../routing/names.js';
import { drainLanes, routeMessage } from '../routing/route.js';
import { jobDataWith, jobReader, withGrayJob } from './carrier.js';
import { startBullDrain } from './drain.js';
import { startHeartbeat, type RedisLivenessLike } from './heartbeat.js';
import { createIdPlacement, identityOf, type IdClaim } from './ids.js';
import { assertBullJob } from './validate.js';
import { LaneWorker } from './worker.js';

export type { RedisLivenessLike } from './heartbeat.js';

/** Options of {@link createBullLanes}. */
export interface BullLanesOptions {
  readonly lanes: MessageLanes;
  /** The logical queue. The default lane works `name`, lane `beta` works `name.lane.beta`. */
  readonly name: string;
  /** BullMQ connection for the queues and workers this creates. */
  readonly connection: ConnectionOptions;
  /**
   * The Redis client liveness keys are written and read with: the same Redis as `connection`
   * (job ids are looked up through it). ioredis; `eval` is needed for jobs with ids.
   */
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
  /**
   * The BullMQ worker. Its own `close(force?)` (and `closing`) also ends what graylane started
   * for it — the heartbeat, the default lane's drain workers — and resolves after them.
   */
  readonly worker: Worker;
  /** `worker.close()`. */
  close(): Promise<void>;
}

/** Lane-aware producing and working on one logical BullMQ queue. */
export interface BullLanes {
  queueFor(lane: string): string;
  /**
   * Adds a job carrying the current lane (or the `__gray` its caller set), to the queue of the lane
   * it carries while that lane has live workers, else to the base queue. A job with a `jobId` or
   * `deduplication.id` goes where a job with that id already is (or is being added), so it stays
   * one job across the lanes, as BullMQ keeps it in one queue.
   */
  add(jobName: string, data: unknown, opts?: JobsOptions): Promise<Job>;
  /**
   * Adds jobs produced in the current lane, each routed by the marker it carries (a job whose data
   * cannot carry one, or whose caller set `__gray`, may go elsewhere). Every job is checked first,
   * by graylane and by BullMQ's own option checks: one refused job adds none. Then one
   * `Queue#addBulk` per destination queue.
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
 * a store Redis already is, no extra service — and while its queue is not paused globally.
 * Producers route a lane's jobs to its queue only while it is alive. Default-lane workers start a
 * worker on each dead lane's queue (with their own processor) and pause it when the lane comes
 * back or the base queue is paused globally; BullMQ's stalled-job check in that worker returns
 * jobs a killed lane worker held to the wait list after their lock expires.
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
  let closed = false;
  /** `Queue#isPaused()` of one of this logical queue's queues (false once the router is closed). */
  const pausedGlobally = async (queueName: string): Promise<boolean> =>
    !closed && (await queue(queueName).isPaused());
  // A lane is alive while its workers beat and its queue is not paused globally
  // (`Queue#pause()`): producers never route into a queue nothing may take jobs from.
  const liveness = createLiveness(
    async (lane) =>
      (await redis.exists(aliveKey(lane))) > 0 && !(await pausedGlobally(queueFor(lane))),
    options.liveness,
  );
  // Every queue a job of this logical queue may sit in: a job id stays one job across them.
  const laneQueues = drainLanes(lanes, options.retiredLanes);
  const ids = createIdPlacement({
    redis,
    prefix,
    name,
    queues: () => [name, ...laneQueues().map(queueFor)],
  });

  /** A job's data with the marker, and its queue: judged from what the job carries. */
  async function place(
    data: unknown,
    marker: OutgoingMarker | undefined,
  ): Promise<{ queue: string; data: unknown }> {
    const carried = jobDataWith(data, marker).data;
    const lane = await routeMessage(lanes, jobReader(lanes, carried), liveness);
    return { queue: lane === undefined ? name : queueFor(lane), data: carried };
  }

  /** The queue of a job: where its id already is or is being added, else `chosen` (claimed). */
  async function claimFor(
    opts: JobsOptions | undefined,
    chosen: string,
    where: string,
  ): Promise<IdClaim | undefined> {
    const identity = identityOf(opts);
    return identity === undefined ? undefined : ids.claim(identity, chosen, where);
  }

  const router: BullLanes = {
    liveness,
    queueFor,
    async add(jobName, data, opts) {
      assertJobData(data, 'createBullLanes().add');
      const t = await place(data, lanes.outgoing());
      const claim = await claimFor(opts, t.queue, 'createBullLanes().add');
      try {
        return await queue(claim?.queue ?? t.queue).add(jobName, t.data, opts);
      } finally {
        await claim?.release();
      }
    },
    async addBulk(jobs) {
      // Every job is checked before any is added: one refused job adds none.
      for (const j of jobs) assertJobData(j.data, 'createBullLanes().addBulk');
      const marker = lanes.outgoing();
      const placed = await Promise.all(jobs.map((j) => place(j.data, marker)));
      // BullMQ's own refusals, in the caller's order, before any queue takes its part (MQ-26).
      for (const [i, p] of placed.entries()) {
        assertBullJob(queue(p.queue), { ...(jobs[i] as (typeof jobs)[number]), data: p.data });
      }
      const claims: (IdClaim | undefined)[] = [];
      try {
        // One after another: two jobs of the batch with the same id follow the first one's claim.
        for (const [i, p] of placed.entries()) {
          claims.push(await claimFor(jobs[i]?.opts, p.queue, 'createBullLanes().addBulk'));
        }
        const byQueue = new Map<string, number[]>();
        placed.forEach((p, i) => {
          const at = claims[i]?.queue ?? p.queue;
          const group = byQueue.get(at);
          if (group) group.push(i);
          else byQueue.set(at, [i]);
        });
        const added: Job[] = [];
        // One addBulk (atomic in Redis) per destination queue; results in the caller's order.
        await Promise.all(
          [...byQueue].map(async ([q, indexes]) => {
            const jobsOfQueue = await queue(q).addBulk(
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
      } finally {
        await Promise.all(claims.map((c) => c?.release()));
      }
    },
    worker(lane, processor, workerOptions = {}) {
      assertLane(lane, lanes.config().versions, 'createBullLanes().worker');
      const opts = { ...workerOptions, connection, prefix } as WorkerOptions;
      const wrapped = withGrayJob(lanes, processor, { served: lane });
      const worker = new LaneWorker(queueFor(lane), wrapped, opts);
      worker.on('error', () => undefined);
      try {
        if (isDefault(lane)) {
          const context = {
            lanes,
            liveness,
            redis,
            prefix,
            queueFor,
            basePaused: () => pausedGlobally(name),
            retiredLanes: options.retiredLanes,
            drainIntervalMs: options.drainIntervalMs,
          };
          startBullDrain(context, wrapped, opts, worker);
        } else startHeartbeat(redis, aliveKey(lane), ttl, worker);
      } catch (err) {
        // The caller never gets this worker: it must not go on taking jobs.
        void worker.close().catch(() => undefined);
        throw err;
      }
      return { worker, close: () => worker.close() };
    },
    async close() {
      closed = true;
      const all = [...queues.values()];
      queues.clear();
      await Promise.all(all.map((q) => q.close()));
    },
  };
  return router;
}
