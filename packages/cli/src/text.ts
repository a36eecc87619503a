/**
 * Text that came from input — a config document, a file name, an etcd key or URL, an argument,
 * an error message from a source — as it may be printed inside the CLI's own lines. A terminal
 * acts on some characters instead of showing them, and a reader trusts line structure: a header
 * name holding a line feed and `ok rules.json: …` would print a forged line, an `ESC[8m` would
 * hide what follows, a right-to-left override would show text reordered (Trojan Source,
 * CVE-2021-42574). So every such character is written as `\uXXXX` where the text is interpolated,
 * and only the CLI's own line breaks and colour codes reach the terminal raw (`io.ts` checks the
 * finished line once more).
 */

/**
 * What input text may not carry raw: C0 controls (tab, line feed and carriage return included),
 * DEL, C1 controls (NEL, the 8-bit CSI), the line and paragraph separators U+2028/U+2029, and the
 * bidirectional controls (ALM U+061C, LRM/RLM U+200E/U+200F, the embeddings and overrides
 * U+202A–U+202E, the isolates U+2066–U+2069; Unicode UAX #9).
 */
export const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** One character as `\uXXXX`. */
export function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every {@link UNPRINTABLE} character written as `\uXXXX`: one line, shown as it is.
 *
 * @example
 * ```ts
 * printable('x-a\nok rules.json'); // 'x-a\\u000aok rules.json'
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/**
 * `text` quoted as a JSON string (which escapes C0 controls and lone surrogates), with the rest of
 * {@link UNPRINTABLE} escaped too: for messages that quote what was given (`got "…"`).
 */
export function quoted(text: string): string {
  return printable(JSON.stringify(text));
}

/**
 * A crash report (an error no command expected): the message escaped as any input text (it may
 * quote input), then the stack frames, one per line.
 */
export function crashText(err: unknown): string {
  if (!(err instanceof Error)) return printable(String(err));
  const stack = typeof err.stack === 'string' ? err.stack : '';
  const at = stack.indexOf('\n    at ');
  const frames = at === -1 ? [] : stack.slice(at + 1).split('\n');
  return [printable(`${err.name}: ${err.message}`), ...frames.map(printable)].join('\n');
}
