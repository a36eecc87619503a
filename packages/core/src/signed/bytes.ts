/**
 * Byte helpers for signed markers, in plain ES2022 (no `TextEncoder`, no `Buffer`, no `atob`),
 * so every runtime computes the same bytes.
 */

/**
 * UTF-8 bytes of `s`, exactly as `TextEncoder#encode` (a lone surrogate becomes U+FFFD).
 *
 * @example
 * ```ts
 * utf8Encode('beta.1.k1'); // Uint8Array [98, 101, 116, 97, …]
 * ```
 */
export function utf8Encode(s: string): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else
      out.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 0x3f),
        0x80 | ((c >> 6) & 0x3f),
        0x80 | (c & 0x3f),
      );
  }
  return Uint8Array.from(out);
}

/**
 * Compares two byte arrays in time that depends only on their lengths (HDR-13: the signature
 * check must not leak how many leading bytes matched). Different lengths are unequal.
 *
 * @example
 * ```ts
 * constantTimeEqual(expected, given); // true only when every byte matches
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
