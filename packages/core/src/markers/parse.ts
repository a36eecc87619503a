import { MAX_RAW_MARKER_BYTES } from '../limits.js';
import type { MarkerRejection } from '../reasons.js';
import { VERSION_PATTERN } from '../version.js';

/** The result of reading one marker: absent, a valid version, or present-but-ignored. */
export type MarkerResult =
  | { readonly kind: 'absent' }
  | { readonly kind: 'valid'; readonly version: string }
  | { readonly kind: 'invalid'; readonly reason: MarkerRejection };

/** What marker parsing needs to know about the config. A `GrayConfig` satisfies it. */
export interface MarkerPolicy {
  hasVersion(version: string): boolean;
  readonly caseInsensitive?: boolean | undefined;
}

/** @internal Shared result objects: the hot path allocates nothing for the common outcomes. */
// Plain literals (not Object.freeze calls) so bundlers can drop them when unused.
export const ABSENT: MarkerResult = { kind: 'absent' };
const INVALID: Readonly<Record<MarkerRejection, MarkerResult>> = {
  too_long: { kind: 'invalid', reason: 'too_long' },
  charset: { kind: 'invalid', reason: 'charset' },
  ambiguous: { kind: 'invalid', reason: 'ambiguous' },
  unknown: { kind: 'invalid', reason: 'unknown' },
  bad_signature: { kind: 'invalid', reason: 'bad_signature' },
  expired: { kind: 'invalid', reason: 'expired' },
  untrusted: { kind: 'invalid', reason: 'untrusted' },
};

/** @internal */
export function invalid(reason: MarkerRejection): MarkerResult {
  return INVALID[reason];
}

/**
 * Parses a raw marker value (a header, a decoded cookie or query value) against the closed set of
 * versions. Never throws. The rules (RELIABILITY §1):
 * - longer than 64 bytes → `too_long`, rejected before scanning (HDR-09);
 * - surrounding spaces and tabs are trimmed (HDR-06); empty → absent (HDR-02);
 * - a list (`beta, stable`, even `beta, beta`) or several values → `ambiguous` (HDR-07);
 * - anything outside `^[a-z][a-z0-9_-]{0,31}$` → `charset` (HDR-08/10); no case folding unless
 *   the config sets `caseInsensitive` (HDR-05);
 * - a well-formed label the config does not declare → `unknown` (HDR-04, HDR-11).
 *
 * @example
 * ```ts
 * parseMarker(' beta ', config); // { kind: 'valid', version: 'beta' }
 * parseMarker('gamma', config);  // { kind: 'invalid', reason: 'unknown' }
 * ```
 */
export function parseMarker(
  raw: string | readonly string[] | undefined,
  policy: MarkerPolicy,
): MarkerResult {
  if (raw === undefined) return ABSENT;
  if (typeof raw !== 'string') {
    if (!Array.isArray(raw)) return ABSENT;
    if (raw.length === 0) return ABSENT;
    if (raw.length > 1) return INVALID.ambiguous;
    raw = raw[0] as string;
    if (typeof raw !== 'string') return ABSENT;
  }
  if (raw.length > MAX_RAW_MARKER_BYTES) return INVALID.too_long;
  let value = trimOws(raw);
  if (value === '') return ABSENT;
  if (value.includes(',')) return INVALID.ambiguous;
  if (policy.caseInsensitive === true) value = asciiLower(value);
  if (!VERSION_PATTERN.test(value)) return INVALID.charset;
  return policy.hasVersion(value) ? { kind: 'valid', version: value } : INVALID.unknown;
}

/** Trims HTTP optional whitespace (SP / HTAB) only, unlike `String#trim`. */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
