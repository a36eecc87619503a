/** What one HTTP status means for the poll loop. */
export type HttpOutcome =
  | 'ok'
  | 'not-modified'
  /** 401/403: credentials are wrong; retrying cannot help (FLT-04, Unleash 401/403 stop). */
  | 'fatal'
  /** 429/503: the server asks us to slow down; never retry faster than the interval (FLT-05). */
  | 'throttled'
  | 'retry';

/** Status codes after which the source stops for good. */
export const FATAL_STATUS: ReadonlySet<number> = new Set([401, 403]);
/** Status codes that mean "come back later, slower". */
export const THROTTLE_STATUS: ReadonlySet<number> = new Set([429, 503]);

/** Classifies an HTTP status for the poll loop. */
export function classifyStatus(status: number): HttpOutcome {
  if (status === 304) return 'not-modified';
  if (status >= 200 && status < 300) return 'ok';
  if (FATAL_STATUS.has(status)) return 'fatal';
  if (THROTTLE_STATUS.has(status)) return 'throttled';
  return 'retry';
}
