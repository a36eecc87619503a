import { BACKOFF_INITIAL_MS, BACKOFF_JITTER, BACKOFF_MAX_MS } from '../limits.js';

/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** First delay. Default 1 s. */
  readonly initialMs?: number | undefined;
  /** Cap of the doubling. Default 60 s. */
  readonly maxMs?: number | undefined;
  /** Relative jitter, 0.2 = ±20 %. Default 0.2. */
  readonly jitter?: number | undefined;
  /** Uniform random in [0, 1). Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/** An exponential retry schedule. */
export interface Backoff {
  /** The next delay in ms: initial × 2^n ± jitter; at the cap, the cap + jitter. */
  next(): number;
  /** Back to the first delay (after a success). */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

/**
 * Exponential backoff with jitter: 1 s, 2 s, 4 s … each ±20 %, capped at 60 s, which is jittered
 * upwards only (60–72 s), so a long outage is retried at most once a minute (FLT-03, FLT-08).
 * `null` (or anything without these fields, from plain JS) is no options: the defaults.
 *
 * @example
 * ```ts
 * const backoff = createBackoff();
 * clock.setTimeout(retry, backoff.next()); // ≈ 1 s, then ≈ 2 s, …
 * ```
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  options ??= {}; // `null` from plain JS
  const initial = options.initialMs ?? BACKOFF_INITIAL_MS;
  const max = options.maxMs ?? BACKOFF_MAX_MS;
  const jitter = options.jitter ?? BACKOFF_JITTER;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const doubled = initial * 2 ** Math.min(attempts, 30);
      const base = Math.min(max, doubled);
      attempts++;
      // At the cap the spread goes up only (60–72 s): below it, a long outage would be retried
      // more often than the cap allows (at −20 % every 48 s: 17 attempts in 10 minutes, FLT-03
      // allows 15).
      const spread = doubled >= max ? random() : 2 * random() - 1;
      return Math.max(0, Math.round(base * (1 + jitter * spread)));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
