import { MAX_VERSION_LENGTH } from './limits.js';

/** The grammar of a version label: lower-case, starts with a letter, ≤ 32 bytes. */
export const VERSION_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * True when `value` is a syntactically valid version label. It says nothing about whether a
 * config declares it.
 *
 * @example
 * ```ts
 * isVersionLabel('beta'); // true
 * isVersionLabel('Beta'); // false
 * ```
 */
export function isVersionLabel(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= MAX_VERSION_LENGTH && VERSION_PATTERN.test(value)
  );
}
