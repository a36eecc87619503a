import { DelayedError, Worker, type Job, type WorkerOptions } from 'bullmq';
import { DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import type { Liveness } from '../routing/liveness.js';
import { drainLanes } from '../routing/route.js';
import { working, type RedisLivenessLike } from './heartbeat.js';
import type { BullProcessor } from './lanes.js';
import type { LaneWorker } from './worker.js';

/** What the default lane's drain needs from its router. */
export interface BullDrainContext {
  readonly lanes: MessageLanes;
  readonly liveness: Liveness;
  readonly redis: RedisLivenessLike;
  readonly prefix: string;
  readonly queueFor: (lane: string) => string;
  /** True while the base queue is paused globally (`Queue#pause()`): the drain waits with it. */
  readonly basePaused: () => Promise<boolean>;
  readonly retiredLanes?: readonly string[] | undefined;
  readonly drainIntervalMs?: number | undefined;
}

/** The field a drained job's hash gets once, so its retries are not counted again. */
const DRAINED_FIELD = 'graylaneDrained';

// Sets the field on the job's hash, only while the job exists (never re-creates a removed job's
// hash): 1 the first time, 0 after.
const MARK_DRAINED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], ARGV[1], '1') end
return 0
`;

/** What the default worker is doing, for its drain. */
type OwnerState = 'closing' | 'stopped' | 'paused' | 'working';

function stateOf(owner: LaneWorker): OwnerState {
  if (owner.closing) return 'closing';
  // Its run is over (never started, ended) or its connection ended: BullMQ takes no job for it.
  if (owner.connectionEnded() || (!owner.isRunning() && !owner.isPaused())) return 'stopped';
  return working(owner) ? 'working' : 'paused';
}

/**
 * The default lane's drain loop: a worker per dead lane, with the default processor, while the
 * default lane's own worker works (see {@link working}) and its queue is not paused globally: a
 * default worker not started yet, paused, or whose queue an operator paused
 * (`new Queue('orders').pause()`) drains nothing, as it processes nothing. Drain workers always
 * run, whatever `autorun` the caller gave the default worker (it starts that one itself).
 *
 * They live and die with that worker, whichever API ends it: paused while it is paused, closed
 * (their current jobs finished first) once its run is over or its Redis connection ended (made
 * again if it runs again), and closed by its own `close(force)` — the loop stopped, the same
 * `force` — which resolves only after them. A job a drain worker fetches once its owner no
 * longer works is handed back to its own queue, never processed.
 */
export function startBullDrain(
  ctx: BullDrainContext,
  processor: BullProcessor,
  workerOptions: WorkerOptions,
  owner: LaneWorker,
): DrainLoop {
  const drainers = new Map<string, Worker>();
  const closing = new Set<Promise<void>>();
  let ended = false;
  const pause = async (lane: string): Promise<void> => {
    const w = drainers.get(lane);
    if (w && !w.isPaused()) await w.pause();
  };
  /** Closes `lane`'s drain worker; a new one may start for the lane meanwhile. */
  const retire = (lane: string, force: boolean): Promise<void> => {
    const w = drainers.get(lane);
    if (!w) return Promise.resolve();
    drainers.delete(lane);
    const done = w.close(force).catch(() => undefined);
    closing.add(done);
    void done.finally(() => closing.delete(done));
    return done;
  };
  /** Ends the drain for good: no drain worker starts after this; those there close with `force`. */
  const end = async (force: boolean): Promise<void> => {
    ended = true;
    const ticking = loop.stop();
    await Promise.all([...drainers.keys()].map((lane) => retire(lane, force)));
    // The tick in progress may be waiting on a drain worker's `pause()`, which waits for its
    // jobs: a forced close does not wait for it (the tick starts no worker after `ended`).
    await Promise.all([...closing, force ? undefined : ticking]);
  };
  /** Brings `lane`'s drain worker in line with its owner; true when it may run. */
  const follow = async (lane: string): Promise<boolean> => {
    const state = stateOf(owner);
    if (state === 'closing') return false; // `end` closes them, with the owner's `force`
    if (state === 'stopped') {
      void retire(lane, false); // its current jobs finish; `end` waits for it
      return false;
    }
    if (state === 'paused' || (await ctx.basePaused())) {
      await pause(lane);
      return false;
    }
    return !ended && stateOf(owner) === 'working';
  };
  const serving = async (): Promise<boolean> =>
    stateOf(owner) === 'working' && !(await ctx.basePaused());
  const loop = startDrain(
    drainLanes(ctx.lanes, ctx.retiredLanes),
    ctx.liveness,
    {
      async onDead(lane) {
        if (!(await follow(lane)) || ended) return;
        const existing = drainers.get(lane);
        if (existing) {
          if (existing.isPaused()) await existing.resume();
          return;
        }
        // A drainer fetches from the lane's queue until the loop's next tick pauses it; a lane
        // back in the meantime (its worker started, a producer saw it alive and routed a job
        // there), the base queue paused, or the default worker no longer working, would lose
        // jobs to the default lane. Each job is judged when fetched: it is handed back (delayed
        // to now, in its own queue, id kept) and the drainer pauses.
        const counted: BullProcessor = async (job, token, ...rest) => {
          if ((await ctx.liveness.refresh(lane)) || !(await serving())) {
            void pause(lane).catch(() => undefined);
            await job.moveToDelayed(Date.now(), token);
            throw new DelayedError();
          }
          if (await firstDrain(ctx, job, ctx.queueFor(lane))) countDrained(1, lane);
          return processor(job, token, ...rest);
        };
        const queueName = ctx.queueFor(lane);
        const w = new Worker(queueName, counted, { ...workerOptions, autorun: true });
        w.on('error', () => undefined);
        drainers.set(lane, w);
      },
      async onAlive(lane) {
        if (await follow(lane)) await pause(lane);
      },
    },
    ctx.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
  owner.own(end);
  // A connection that ends is judged at the next tick; ask now rather than an interval later.
  owner.on('ioredis:close', () => void setImmediate(() => void loop.tick()));
  return { tick: loop.tick, stop: () => end(false) };
}

/**
 * True the first time the drain processes `job`: a job retried (`attempts`) or handed back and
 * drained again is one message moved, as the AMQP and NATS drains count it. Marked on the job's
 * own hash (gone with the job), so every default worker process agrees. Without `eval` on the
 * Redis client, or when Redis refuses, the first attempt counts.
 */
async function firstDrain(ctx: BullDrainContext, job: Job, queueName: string): Promise<boolean> {
  const fallback = job.attemptsMade === 0;
  if (typeof ctx.redis.eval !== 'function' || job.id === undefined) return fallback;
  try {
    const key = `${ctx.prefix}:${queueName}:${job.id}`;
    return (await ctx.redis.eval(MARK_DRAINED, 1, key, DRAINED_FIELD)) === 1;
  } catch {
    return fallback;
  }
}
