/** RFC 4648 §5 alphabet (base64url), no padding. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Character code → 6-bit value, or -1. Built once, on first use (nothing runs on import). */
let table: Int8Array | undefined;

function decodeTable(): Int8Array {
  if (!table) {
    table = new Int8Array(128).fill(-1);
    for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  }
  return table;
}

/**
 * Unpadded base64url (RFC 4648 §5) of `bytes`.
 *
 * @example
 * ```ts
 * encodeBase64Url(Uint8Array.of(0xfb, 0xff)); // '-_8'
 * ```
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      ALPHABET.charAt(n >> 18) +
      ALPHABET.charAt((n >> 12) & 63) +
      ALPHABET.charAt((n >> 6) & 63) +
      ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out +=
      ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63);
  }
  return out;
}

/**
 * Strict, canonical decoding of unpadded base64url: any character outside the alphabet, `=`
 * padding, an impossible length, or non-zero spare bits in the last character yield
 * `undefined`. Canonical-only matters for signatures: a lenient decoder accepts several
 * spellings of one signature. Never throws.
 *
 * @example
 * ```ts
 * decodeBase64Url('-_8'); // Uint8Array [0xfb, 0xff]
 * decodeBase64Url('-_9'); // undefined (spare bits set)
 * ```
 */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== 'string' || text.length % 4 === 1) return undefined;
  const t = decodeTable();
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (t[code] as number) : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // The bits left over must be zero for the encoding to be the canonical one.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
