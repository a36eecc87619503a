/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Time as the sources see it. Inject a manual clock in tests so a 10-minute outage runs in
 * milliseconds (FLT-03). `now` is monotonic and drives backoff (WT-09); `wallNow` stamps
 * `lastSuccess` and feeds the staleness gauge.
 */
export interface SourceClock {
  /** Monotonic milliseconds (`performance.now`). */
  now(): number;
  /** Epoch milliseconds (`Date.now`). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Timers are `unref`'d: a source never keeps a process alive on its own.
 *
 * @example
 * ```ts
 * const source = createHttpSource({ url, clock: systemClock });
 * ```
 */
export const systemClock: SourceClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
