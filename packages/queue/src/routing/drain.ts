import { DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import type { Liveness } from './liveness.js';

/** What a fallback consumer does for a lane on each tick. */
export interface DrainHooks {
  /** The lane has no live consumer: move or process what is waiting on it. */
  onDead(lane: string): Promise<void>;
  /** The lane is alive again (optional: stop processing it here). */
  onAlive?(lane: string): Promise<void>;
  /** Errors of a tick; the loop goes on. Default: ignored. */
  onError?(err: unknown, lane: string): void;
}

/** A running drain loop. */
export interface DrainLoop {
  /** Runs one tick now (tests and shutdown use it). */
  tick(): Promise<void>;
  /** Stops the loop and waits for the tick in progress. */
  stop(): Promise<void>;
}

/**
 * The fallback consumer's loop: every `intervalMs`, for every lane other than its own, ask the
 * broker whether the lane has a live consumer; if not, drain it. So messages routed to a lane
 * whose consumers then stopped are not stranded: they reach the fallback within the liveness
 * bound plus one interval (documented per broker in docs/queues.md). Ticks never overlap; the
 * timer is unref'd (the consumer's connection keeps the process alive, not this loop).
 */
export function startDrain(
  lanes: () => readonly string[],
  liveness: Liveness,
  hooks: DrainHooks,
  intervalMs: number = DEFAULT_DRAIN_INTERVAL_MS,
): DrainLoop {
  let running: Promise<void> | undefined;
  let stopped = false;

  const one = async (lane: string): Promise<void> => {
    try {
      if (await liveness.refresh(lane)) await hooks.onAlive?.(lane);
      else await hooks.onDead(lane);
    } catch (err) {
      try {
        hooks.onError?.(err, lane);
      } catch {
        // A throwing error hook never stops the loop.
      }
    }
  };
  const tick = (): Promise<void> => {
    running ??= (async () => {
      for (const lane of lanes()) if (!stopped) await one(lane);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
