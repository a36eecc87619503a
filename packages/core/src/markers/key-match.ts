import { isDecodable, safeDecode } from './decode.js';
import { escapeByte } from './percent.js';

/**
 * @internal True when `text[start, end)` percent-decodes to `name`, i.e.
 * `safeDecode(text.slice(start, end), plusAsSpace) === name`, checked in place: no slice, no
 * decoded string, and it stops at the first character that differs, so hostile keys full of
 * escapes cost a compare, not a decode (AMP-01). Only a non-ASCII `name` takes the decoding path.
 */
export function decodesTo(
  text: string,
  start: number,
  end: number,
  name: string,
  plusAsSpace: boolean,
): boolean {
  const n = name.length;
  // Each character or escape decodes to at least one character.
  if (end - start < n) return false;
  if (!isAscii(name)) {
    return (
      isDecodable(text, start, end) && safeDecode(text.slice(start, end), plusAsSpace) === name
    );
  }
  let i = start;
  let k = 0;
  while (i < end) {
    if (k === n) return false;
    const want = name.charCodeAt(k++);
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      // An escape must be one ASCII byte equal to `want`; any other byte decodes to something
      // else (or nothing), and either way not to `name`.
      if (escapeByte(text, i, end) !== want) return false;
      i += 3;
    } else {
      if ((plusAsSpace && c === 0x2b ? 0x20 : c) !== want) return false;
      i++;
    }
  }
  return k === n;
}

/**
 * @internal `text[start, end)` without what `String#trim` removes from both ends (WhiteSpace and
 * LineTerminator), as `[start, end]` bounds, without slicing.
 */
export function trimmedStart(text: string, start: number, end: number): number {
  while (start < end && isTrimSpace(text.charCodeAt(start))) start++;
  return start;
}

/** @internal The end of {@link trimmedStart}'s range. */
export function trimmedEnd(text: string, start: number, end: number): number {
  while (end > start && isTrimSpace(text.charCodeAt(end - 1))) end--;
  return end;
}

/** ECMAScript WhiteSpace and LineTerminator: exactly what `String#trim` removes. */
export function isTrimSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
