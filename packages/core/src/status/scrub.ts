import { STATUS_MAX_TEXT } from './limits.js';
import { secretSteps } from './secrets.js';

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
 * {@link cleanText} plus the credential scrub (`secretSteps()`: `user:pass@` in URLs, `Bearer`,
 * `Basic` and `Digest` credentials — a token shaped like one, so `basic auth failed` stays —,
 * `key=value` / `key: value` / `"key": "value"` / `--key value` pairs with a secret-like key,
 * whatever the separator, well-known token formats). Applied to every free-form string the page shows
 * (source names, source errors, rejected reloads, problems) and to the sources' metric labels.
 * graylane's own validation messages (`$.rules[0].match.cookie.session_id: …`) and host:port
 * pairs come through unchanged. The input is cut before the steps run, and every step is
 * linear-time, so the work is bounded by `max` (I4).
 *
 * @example
 * ```ts
 * scrubText('GET https://admin:p@ss@etcd.internal/v3 failed'); // 'GET https://***@etcd.internal/v3 failed'
 * ```
 */
export function scrubText(value: unknown, max = STATUS_MAX_TEXT): string {
  let s = cleanText(value, max * 2);
  for (const step of secretSteps()) s = step(s);
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
