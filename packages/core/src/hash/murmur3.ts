/**
 * MurmurHash3 x86 32-bit (Austin Appleby's public-domain reference). `murmur3` hashes bytes;
 * `murmur3Utf8` hashes the UTF-8 encoding of a string without allocating it (lone surrogates
 * encode as U+FFFD, exactly like `TextEncoder`). Both give identical results for the same bytes.
 */
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, k: number, tail: number, len: number): number {
  if (tail > 0) h ^= mixK(k);
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86 32 over bytes. */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  let k = 0;
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    k |= (bytes[i] as number) << (n << 3);
    if (++n === 4) {
      h = mixH(h, k);
      k = 0;
      n = 0;
    }
  }
  return finish(h, k, n, bytes.length);
}

/** The running state of a streamed hash: `len` bytes in, `n` of them (0–3) pending in `k`. */
export interface Murmur3State {
  h: number;
  k: number;
  n: number;
  len: number;
}

/**
 * Feeds the UTF-8 bytes of `s` into `st`. Each code point is packed into up to four bytes
 * (little end first) and fed to the block accumulator; ASCII, the common case, one byte at a
 * time without packing.
 */
function feed(st: Murmur3State, s: string): void {
  let h = st.h;
  let k = st.k;
  let n = st.n;
  let len = st.len;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    let packed: number;
    let count: number;
    if (c < 0x80) {
      packed = c;
      count = 1;
    } else if (c < 0x800) {
      packed = 0xc0 | (c >> 6) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        packed =
          0xf0 |
          (cp >> 18) |
          ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
          ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
          ((0x80 | (cp & 0x3f)) << 24);
        count = 4;
      } else {
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        packed = 0xe0 | (c >> 12) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      }
    }
    for (let j = 0; j < count; j++) {
      k |= ((packed >>> (j << 3)) & 0xff) << (n << 3);
      len++;
      if (++n === 4) {
        h = mixH(h, k);
        k = 0;
        n = 0;
      }
    }
  }
  st.h = h;
  st.k = k;
  st.n = n;
  st.len = len;
}

/**
 * MurmurHash3 x86 32 over the UTF-8 bytes of `first`, or of `first + ":" + second` when
 * `second` is given (the bucketing input), streamed: no string is concatenated and no byte array
 * allocated.
 */
export function murmur3Utf8(first: string, seed = 0, second?: string): number {
  const st: Murmur3State = { h: seed | 0, k: 0, n: 0, len: 0 };
  feed(st, first);
  if (second !== undefined) {
    feed(st, ':');
    feed(st, second);
  }
  return finish(st.h, st.k, st.n, st.len);
}

/** The state after `first + ":"` (seed 0), to hash many `second`s under one `first`. */
export function murmur3Prefix(first: string): Readonly<Murmur3State> {
  const st: Murmur3State = { h: 0, k: 0, n: 0, len: 0 };
  feed(st, first);
  feed(st, ':');
  return st;
}

/** `murmur3Utf8(first, 0, second)` from `murmur3Prefix(first)`: only `second` is hashed. */
export function murmur3Continue(prefix: Readonly<Murmur3State>, second: string): number {
  const st: Murmur3State = { h: prefix.h, k: prefix.k, n: prefix.n, len: prefix.len };
  feed(st, second);
  return finish(st.h, st.k, st.n, st.len);
}
