import type { GraylaneError } from '../errors.js';

/**
 * Problems of one rejected document named in a log line or `lastError`; the rest are counted
 * ("… and 995 more"). The full list stays on the error's `issues` (I4: a log line costs O(1),
 * not O(document)).
 */
export const MAX_REPORTED_ISSUES = 5;
/** Characters one reported problem may take (a key may be 700 characters long). */
export const MAX_ISSUE_CHARS = 160;
/** Characters a whole `lastError` / problem in a log line may take. */
export const MAX_PROBLEM_CHARS = 1_000;

/** C0, DEL, C1, and the JavaScript line separators U+2028/U+2029. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Text from a document, an error or a path as one safe log line: control characters escaped
 * (`\n` → `\\n`, ESC → `\\u001b`), so a key holding a newline cannot forge a second log line
 * (I1: logs escaped), and cut to `max` characters with `…`.
 *
 * @example
 * ```ts
 * oneLine('a\nb', 10); // 'a\\nb'
 * oneLine('x'.repeat(50), 10); // 'xxxxxxxxx…'
 * ```
 */
export function oneLine(text: string, max = MAX_PROBLEM_CHARS): string {
  const escaped = text.replace(CONTROL, escapeChar);
  return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1)}…`;
}

/**
 * A rejected document's error, bounded: its first {@link MAX_REPORTED_ISSUES} problems (each
 * escaped and cut), then how many more; the message itself when the error carries no issues.
 *
 * @example
 * ```ts
 * describeError(err); // '[graylane] invalid config: $.rules[0]: …; … and 995 more'
 * ```
 */
export function describeError(error: Pick<GraylaneError, 'message' | 'issues'>): string {
  const issues = Array.isArray(error.issues) ? error.issues : [];
  if (issues.length === 0) return oneLine(String(error.message));
  const shown = issues
    .slice(0, MAX_REPORTED_ISSUES)
    .map((i) => oneLine(`${String(i.path)}: ${String(i.message)}`, MAX_ISSUE_CHARS));
  const more = issues.length - shown.length;
  // The error's own prefix is kept (`[graylane] invalid config: …`, as before the cap).
  const head = String(error.message).startsWith('[graylane] ') ? '[graylane] ' : '';
  const text = `${head}invalid config: ${shown.join('; ')}${more > 0 ? `; … and ${more} more` : ''}`;
  return oneLine(text);
}

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}
