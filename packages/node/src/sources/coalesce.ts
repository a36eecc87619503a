import type { SourceClock, TimerHandle } from '@graylane/core';

/** Options of {@link createCoalescer}. */
export interface CoalescerOptions {
  /** Quiet time before running. */
  readonly delayMs: number;
  /** Minimum time between two runs (default `delayMs`). */
  readonly minGapMs?: number | undefined;
  /** Upper bound between the first trigger and the run, so a storm still applies. */
  readonly maxWaitMs: number;
  readonly clock: SourceClock;
}

/** Runs a task after triggers settle; one run at a time; a trigger during a run reruns it once. */
export interface Coalescer {
  trigger(): void;
  /** Cancels pending runs and resolves when the running task (if any) ends. */
  stop(): Promise<void>;
}

/**
 * Debounce with a max wait and single flight: at most one task runs, at most one more is queued,
 * and two runs are always ≥ `minGapMs` apart (FLT-15: ≤ 1 apply per 100 ms, the last write wins).
 * The quiet time and the gap are separate so a single edit goes live after the short quiet time.
 */
export function createCoalescer(task: () => Promise<void>, options: CoalescerOptions): Coalescer {
  const { clock, delayMs, maxWaitMs } = options;
  const minGapMs = options.minGapMs ?? delayMs;
  let timer: TimerHandle | undefined;
  let firstAt: number | undefined;
  let running: Promise<void> | undefined;
  let dirty = false;
  let stopped = false;
  let lastRunAt = -Infinity;

  const run = (): void => {
    timer = undefined;
    firstAt = undefined;
    if (running) {
      dirty = true;
      return;
    }
    lastRunAt = clock.now();
    running = task()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
        if (dirty && !stopped) {
          dirty = false;
          trigger();
        }
      });
  };

  const trigger = (): void => {
    if (stopped) return;
    const now = clock.now();
    firstAt ??= now;
    if (timer !== undefined) clock.clearTimeout(timer);
    const settle = Math.min(delayMs, firstAt + maxWaitMs - now);
    const wait = Math.max(0, settle, lastRunAt + minGapMs - now);
    timer = clock.setTimeout(run, wait);
  };

  return {
    trigger,
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
