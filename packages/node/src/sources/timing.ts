import { GraylaneError, type BackoffOptions } from '@graylane/core';

/**
 * The longest delay a timer takes: Node and browsers store it in a signed 32-bit int, and a
 * larger one fires after 1 ms (Node's `TimeoutOverflowWarning`), which would poll in a loop.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timing option: absent (the default), or a number of ms with `0 < ms ≤ MAX_TIMER_MS`. Zero,
 * negative, NaN, Infinity, a string or an overflowing value would make a poll loop hammer its
 * endpoint (hundreds of requests a second), so it is refused at construction (STYLE: only
 * configuration mistakes throw). The same rule as the Web refresher's, with zero refused: a
 * Node source polls on a timer, not on requests.
 *
 * @example
 * ```ts
 * timing(options.intervalMs, 15_000, 'intervalMs'); // 15_000 when absent
 * timing(0, 15_000, 'intervalMs'); // throws INVALID_OPTIONS
 * ```
 */
export function timing(
  value: unknown,
  fallback: number,
  what: string,
  where = 'http source',
): number {
  return checked(value, fallback, what, where, false);
}

/** As {@link timing}, with `0` allowed (an option that `0` turns off). */
export function timingOrZero(
  value: unknown,
  fallback: number,
  what: string,
  where: string,
): number {
  return checked(value, fallback, what, where, true);
}

function checked(
  value: unknown,
  fallback: number,
  what: string,
  where: string,
  zeroOk: boolean,
): number {
  if (value === undefined) return fallback;
  if (zeroOk && value === 0) return 0;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: ${what} must be a number of milliseconds, ${zeroOk ? '≥' : '>'} 0 and ≤ ${MAX_TIMER_MS} (got ${describe(value)})`,
    );
  return value;
}

/** `backoff`, checked: `initialMs`/`maxMs` as {@link timing}, `jitter` in [0, 1). */
export function checkBackoff(
  backoff: BackoffOptions | undefined,
  where = 'http source',
): BackoffOptions | undefined {
  if (backoff === undefined) return undefined;
  if (typeof backoff !== 'object' || backoff === null)
    throw new GraylaneError('INVALID_OPTIONS', `${where}: backoff must be an object`);
  timing(backoff.initialMs, 1, 'backoff.initialMs', where);
  timing(backoff.maxMs, 1, 'backoff.maxMs', where);
  const jitter: unknown = backoff.jitter;
  if (jitter !== undefined && (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)))
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `${where}: backoff.jitter must be a number in [0, 1) (got ${describe(jitter)})`,
    );
  return backoff;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
