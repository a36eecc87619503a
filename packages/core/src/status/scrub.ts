import { STATUS_MAX_TEXT } from './limits.js';

/**
 * Turns anything into a short, printable string: control characters become U+FFFD, the text is
 * cut at `max` characters (an ellipsis marks the cut). Never throws, whatever `value` is.
 */
export function cleanText(value: unknown, max = STATUS_MAX_TEXT): string {
  let s: string;
  try {
    s = typeof value === 'string' ? value : String(value);
  } catch {
    s = '(unprintable)';
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we replace
  s = s.slice(0, max + 1).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Credentials that error messages tend to carry: `scheme://user:pass@host`, `Bearer …` /
 * `Basic …`, and `token=`/`key=`/`secret=`-like query or form values. Applied to every free-form
 * string the page shows (source errors, rejected reloads, problems).
 */
const SECRETS: readonly [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@'],
  [/\b(bearer|basic)\s+[^\s,;]+/gi, '$1 ***'],
  [
    /([?&;,\s]|^)([a-z0-9_-]*(?:token|key|secret|passw(?:or)?d|pwd|sig|signature|auth|credential)s?[a-z0-9_-]*\s*[=:]\s*)[^&\s;,#]+/gi,
    '$1$2***',
  ],
];

/**
 * {@link cleanText} plus the credential scrub. The input is cut before the patterns run, so the
 * work is bounded by `max` (I4).
 */
export function scrubText(value: unknown, max = STATUS_MAX_TEXT): string {
  let s = cleanText(value, max * 2);
  for (const [pattern, replacement] of SECRETS) s = s.replace(pattern, replacement);
  return cleanText(s, max);
}

/** A counter value as a non-negative safe integer; anything else is 0. */
export function cleanCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.floor(value), Number.MAX_SAFE_INTEGER);
}

/** An epoch-ms instant, or `null` when absent or not a finite number. */
export function cleanTime(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
