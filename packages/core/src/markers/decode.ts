import { escapeAt } from './percent.js';

/**
 * Percent-decoding with `decodeURIComponent`'s result, without its exceptions: a malformed
 * escape or an invalid UTF-8 sequence yields `undefined` (CK-03, QS-05, BG-03). Hostile input
 * full of bad escapes costs one linear pass, never a throw and catch per entry (AMP-01).
 *
 * `plusAsSpace` applies `application/x-www-form-urlencoded`'s `+` → space first (query strings).
 */
export function safeDecode(s: string, plusAsSpace = false): string | undefined {
  const pct = s.indexOf('%');
  if (pct === -1) return plusAsSpace && s.includes('+') ? s.replace(/\+/g, ' ') : s;
  let out = '';
  let from = 0;
  let i = pct;
  while (i !== -1) {
    out += plain(s, from, i, plusAsSpace);
    const r = escapeAt(s, i, s.length);
    if (r <= 0) return undefined;
    out += String.fromCodePoint(r >> 3);
    from = i + 3 * (r & 7);
    i = s.indexOf('%', from);
  }
  return out + plain(s, from, s.length, plusAsSpace);
}

/**
 * True when `s[start, end)` would decode (every `%` starts a valid escape of a well-formed UTF-8
 * sequence), checked in place without building a string: hostile keys full of bad escapes are
 * rejected without allocating (AMP-01).
 */
export function isDecodable(s: string, start: number, end: number): boolean {
  // A bounded look for `%` (an unbounded `indexOf` would search to the end of the whole header
  // for each entry: quadratic over many short entries, AMP-01).
  let i = percentAt(s, start, end);
  while (i !== -1) {
    const r = escapeAt(s, i, end);
    if (r <= 0) return false;
    i = percentAt(s, i + 3 * (r & 7), end);
  }
  return true;
}

/** The index of the first `%` in `s[from, end)`, or -1. */
function percentAt(s: string, from: number, end: number): number {
  for (let i = from; i < end; i++) if (s.charCodeAt(i) === 0x25) return i;
  return -1;
}

function plain(s: string, from: number, to: number, plusAsSpace: boolean): string {
  const part = s.slice(from, to);
  return plusAsSpace && part.includes('+') ? part.replace(/\+/g, ' ') : part;
}
