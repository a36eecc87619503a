import { DelayedError, Worker, type Job, type WorkerOptions } from 'bullmq';
import { DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import type { Liveness } from '../routing/liveness.js';
import { drainLanes } from '../routing/route.js';
import { working, type RedisLivenessLike } from './heartbeat.js';
import type { BullProcessor } from './lanes.js';

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

/**
 * The default lane's drain loop: a paused-or-running worker per dead lane, with the default
 * processor, while the default lane's own worker works (see {@link working}) and its queue is not
 * paused globally: a default worker not started yet, paused, closing, or whose queue an operator
 * paused (`new Queue('orders').pause()`) drains nothing, as it processes nothing. Drain workers
 * always run, whatever `autorun` the caller gave the default worker (it starts that one itself).
 */
export function startBullDrain(
  ctx: BullDrainContext,
  processor: BullProcessor,
  workerOptions: WorkerOptions,
  owner: Worker,
): DrainLoop {
  const drainers = new Map<string, Worker>();
  const pause = async (lane: string): Promise<void> => {
    const w = drainers.get(lane);
    if (w && !w.isPaused()) await w.pause();
  };
  const serving = async (): Promise<boolean> => working(owner) && !(await ctx.basePaused());
  const loop = startDrain(
    drainLanes(ctx.lanes, ctx.retiredLanes),
    ctx.liveness,
    {
      async onDead(lane) {
        if (!(await serving())) return pause(lane);
        const existing = drainers.get(lane);
        if (existing) {
          if (existing.isPaused()) await existing.resume();
          return;
        }
        // A drainer fetches from the lane's queue until the loop's next tick pauses it; a lane
        // back in the meantime (its worker started, a producer saw it alive and routed a job
        // there), or the base queue paused, would lose jobs to the default lane. Each job is
        // judged when fetched: it is handed back (delayed to now, in its own queue, id kept) and
        // the drainer pauses.
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
      onAlive: pause,
    },
    ctx.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
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
