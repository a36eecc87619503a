import { DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrainError } from '../metrics/stats.js';
import type { Liveness } from './liveness.js';

/** What a fallback consumer does for a lane on each tick. */
export interface DrainHooks {
  /**
   * The lane has no live consumer: move or process (a bounded batch of) what is waiting on it.
   * Resolve `true` when a full batch moved and more may wait: the same tick then asks about the
   * lane again and moves the next batch, so a backlog drains in one pass, not a batch per interval.
   */
  onDead(lane: string): Promise<boolean | void>;
  /** The lane is alive again (optional: stop processing it here). */
  onAlive?(lane: string): Promise<void>;
  /** Errors of a tick (each counted in `queueStats().drainErrors`); the loop goes on. Default: none. */
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
 * broker whether the lane has a live consumer; if not, drain it — batch after batch, round robin
 * over the lanes, asking again before each batch, until every dead lane is empty. So messages
 * routed to a lane whose consumers then stopped are not stranded: they reach the fallback within
 * the liveness bound plus one interval plus the moves themselves (documented per broker in
 * docs/queues.md). Ticks never overlap; `stop()` waits for at most the batch in progress; the
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

  /** One batch for one lane; true when the lane may hold more (ask again this tick). */
  const one = async (lane: string): Promise<boolean> => {
    try {
      if (await liveness.refresh(lane)) {
        await hooks.onAlive?.(lane);
        return false;
      }
      return (await hooks.onDead(lane)) === true;
    } catch (err) {
      countDrainError();
      try {
        hooks.onError?.(err, lane);
      } catch {
        // A throwing error hook never stops the loop.
      }
      return false;
    }
  };
  const tick = (): Promise<void> => {
    running ??= (async () => {
      let pending = lanes();
      while (pending.length > 0 && !stopped) {
        const again: string[] = [];
        for (const lane of pending) if (!stopped && (await one(lane))) again.push(lane);
        pending = again;
      }
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
