/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Time as the rule sources see it. Inject a manual clock in tests so a 10-minute outage runs in
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

/** The host timer API, looked up at call time: core is runtime-neutral (ES2022 types only). */
interface HostTimers {
  performance?: { now(): number };
  setTimeout(fn: () => void, ms: number): { unref?(): unknown } | number;
  clearTimeout(handle: unknown): void;
}
const host = (): HostTimers => globalThis as unknown as HostTimers;

/**
 * The real clock. Timers are `unref`'d where the runtime supports it: a source never keeps a
 * process alive on its own.
 *
 * @example
 * ```ts
 * const source = createHttpSource({ url, clock: systemClock });
 * ```
 */
export const systemClock: SourceClock = {
  now: () => host().performance?.now() ?? Date.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = host().setTimeout(fn, ms);
    if (typeof t === 'object' && typeof t.unref === 'function') t.unref();
    return t;
  },
  clearTimeout(handle) {
    host().clearTimeout(handle);
  },
};
