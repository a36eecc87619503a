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
  /** The next delay in ms: initial × 2^n, capped, then ± jitter. */
  next(): number;
  /** Back to the first delay (after a success). */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

/**
 * Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 60 s, each ±20 % (FLT-03, FLT-08).
 *
 * @example
 * ```ts
 * const backoff = createBackoff();
 * clock.setTimeout(retry, backoff.next()); // ≈ 1 s, then ≈ 2 s, …
 * ```
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialMs ?? BACKOFF_INITIAL_MS;
  const max = options.maxMs ?? BACKOFF_MAX_MS;
  const jitter = options.jitter ?? BACKOFF_JITTER;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(max, initial * 2 ** Math.min(attempts, 30));
      attempts++;
      return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
