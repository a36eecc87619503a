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
    const lead = hexByte(s, i);
    if (lead < 0) return undefined;
    let cp: number;
    let n: number;
    if (lead < 0x80) {
      cp = lead;
      n = 1;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      cp = lead & 0x1f;
      n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      cp = lead & 0x0f;
      n = 3;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      cp = lead & 0x07;
      n = 4;
    } else return undefined;
    for (let k = 1; k < n; k++) {
      const b = hexByte(s, i + 3 * k);
      if (b < 0 || (b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    // RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
    if (
      (n === 3 && cp < 0x800) ||
      (n === 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)
    )
      return undefined;
    out += String.fromCodePoint(cp);
    from = i + 3 * n;
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
    const lead = i + 2 < end ? hexByte(s, i) : -1;
    const n =
      lead < 0
        ? 0
        : lead < 0x80
          ? 1
          : lead >= 0xc2 && lead <= 0xf4
            ? lead < 0xe0
              ? 2
              : lead < 0xf0
                ? 3
                : 4
            : 0;
    if (n === 0 || i + 3 * n > end) return false;
    let cp = n === 1 ? lead : lead & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) {
      const b = hexByte(s, i + 3 * k);
      if (b < 0 || (b & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (
      (n === 3 && cp < 0x800) ||
      (n === 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)
    )
      return false;
    i = percentAt(s, i + 3 * n, end);
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

/** The byte of `%XX` at `i`, or -1. */
function hexByte(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x25 || i + 2 >= s.length) return -1;
  const hi = hex(s.charCodeAt(i + 1));
  const lo = hex(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
