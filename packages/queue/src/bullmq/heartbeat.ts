import type { LaneWorker } from './worker.js';

/** The Redis commands lane liveness uses (an ioredis client satisfies it). */
export interface RedisLivenessLike {
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  exists(key: string): Promise<number>;
  /**
   * Redis `eval` (ioredis). Needed only to keep one job per `jobId` / `deduplication.id` across
   * lanes (a job with one is refused without it) and to count a drained job once over retries.
   */
  eval?(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * True while `worker` works its queue: started (`autorun`, or `run()` called), not paused, not
 * closing, its Redis connection not ended. A worker made with `autorun: false` and not yet
 * started, paused, or whose connection ended (`worker.disconnect()`, a quit shared connection)
 * serves nothing. (A queue paused globally, `Queue#pause()`, is judged by the router from Redis.)
 */
export function working(worker: LaneWorker): boolean {
  return worker.isRunning() && !worker.isPaused() && !worker.closing && !worker.connectionEnded();
}

/**
 * Keeps a lane's liveness key fresh while its worker works (see {@link working}); a dead process,
 * a worker never started, paused, closed or whose connection ended stops counting within `ttl`.
 * The timer ends with the worker (`worker.close()`) or `stop()`.
 */
export function startHeartbeat(
  redis: RedisLivenessLike,
  key: string,
  ttl: number,
  worker: LaneWorker,
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
  const stop = (): void => clearInterval(timer);
  worker.own(async () => stop());
  return { stop };
}
