import { FILE_DEBOUNCE_MS, FILE_MAX_WAIT_MS, FILE_REARM_MS, FILE_SETTLE_MS } from '../constants.js';
import { timing, timingOrZero } from '../timing.js';

/** The file source's timings, checked; `pollIntervalMs` is `undefined` when polling is off. */
export interface FileTimings {
  readonly debounceMs: number;
  readonly settleMs: number;
  readonly maxWaitMs: number;
  readonly pollIntervalMs: number | undefined;
  readonly rearmMs: number;
}

const WHERE = 'file source';

/**
 * Checks the file source's timing options at construction, with the HTTP source's rule and
 * message (`timing`: a number of ms, `≤ MAX_TIMER_MS`; NaN, Infinity, negative, a string or an
 * overflowing value throw `INVALID_OPTIONS`). `0` is allowed where it turns a wait off and cannot
 * make the source spin: `debounceMs` (no quiet time; applies stay `FILE_MIN_GAP_MS` apart),
 * `settleMs` (no settle wait) and `pollIntervalMs` (no polling, as when absent). `maxWaitMs` (an
 * upper bound) and `rearmMs` (two `stat`s per period: `0` would stat in a loop) must be `> 0`.
 *
 * @example
 * ```ts
 * fileTimings({ debounceMs: 0 }).debounceMs; // 0
 * fileTimings({ rearmMs: 0 }); // throws INVALID_OPTIONS
 * ```
 */
export function fileTimings(options: {
  readonly debounceMs?: unknown;
  readonly settleMs?: unknown;
  readonly maxWaitMs?: unknown;
  readonly pollIntervalMs?: unknown;
  readonly rearmMs?: unknown;
}): FileTimings {
  const poll = timingOrZero(options.pollIntervalMs, 0, 'pollIntervalMs', WHERE);
  return {
    debounceMs: timingOrZero(options.debounceMs, FILE_DEBOUNCE_MS, 'debounceMs', WHERE),
    settleMs: timingOrZero(options.settleMs, FILE_SETTLE_MS, 'settleMs', WHERE),
    maxWaitMs: timing(options.maxWaitMs, FILE_MAX_WAIT_MS, 'maxWaitMs', WHERE),
    pollIntervalMs: poll === 0 ? undefined : poll,
    rearmMs: timing(options.rearmMs, FILE_REARM_MS, 'rearmMs', WHERE),
  };
}
