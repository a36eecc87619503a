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

/**
 * The 2xx statuses whose content is the whole document a GET without `Range` or `A-IM` asked for:
 * 200, and 203 (the same, transformed by a proxy; RFC 9110 §15.3.4). Any other 2xx is not the
 * document — 206 is part of it (§15.3.7: sent to a request without `Range`, a broken cache or
 * server), 226 a delta (RFC 3229), 204/205 nothing — and fails like any bad response.
 */
export const DOCUMENT_STATUS: ReadonlySet<number> = new Set([200, 203]);

/** Classifies an HTTP status for the poll loop. */
export function classifyStatus(status: number): HttpOutcome {
  if (status === 304) return 'not-modified';
  if (DOCUMENT_STATUS.has(status)) return 'ok';
  if (FATAL_STATUS.has(status)) return 'fatal';
  if (THROTTLE_STATUS.has(status)) return 'throttled';
  return 'retry';
}
