import { isUtf8 } from 'node:buffer';
import type { LaneFile } from './files.js';
import { MAX_HTML_BYTES, MAX_UTF8_CHECK_BYTES } from './limits.js';
import { declaredEncoding } from './meta-charset.js';

/** `Content-Type` of HTML graylane knows to be UTF-8 (it decoded it, or checked every byte). */
export const HTML_UTF8 = 'text/html; charset=utf-8';
/** `Content-Type` of any other HTML: no charset, so the document's own BOM or meta decides. */
export const HTML_AS_IS = 'text/html';

/** Bytes read per step when a large document is checked. */
const CHUNK = 64 * 1024;

/**
 * The `Content-Type` of an HTML document too large to stamp ({@link MAX_HTML_BYTES}), streamed
 * unchanged: `charset=utf-8` only when it declares UTF-8 or nothing and every byte is UTF-8
 * (checked in steps, up to {@link MAX_UTF8_CHECK_BYTES}); else no charset. Reads by position:
 * the handle is then streamed from the start.
 */
export async function largeHtmlType(file: LaneFile): Promise<string> {
  const size = file.stat.size;
  if (size > MAX_UTF8_CHECK_BYTES) return HTML_AS_IS;
  const head = await readAt(file, 0, Math.min(size, MAX_HTML_BYTES));
  if (declaredEncoding(head) === 'other') return HTML_AS_IS;
  let carry: Buffer = Buffer.alloc(0);
  for (let at = 0; at < size; at += CHUNK) {
    const chunk = at < head.length ? head.subarray(at, at + CHUNK) : await readAt(file, at, CHUNK);
    if (chunk.length === 0) break;
    const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const cut = completeLength(bytes);
    if (!isUtf8(bytes.subarray(0, cut))) return HTML_AS_IS;
    carry = bytes.subarray(cut);
  }
  return carry.length === 0 ? HTML_UTF8 : HTML_AS_IS;
}

async function readAt(file: LaneFile, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * The length of `bytes` without a UTF-8 sequence cut off at its end (its lead byte announces more
 * bytes than follow): those are checked with the next chunk.
 */
export function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const b = bytes[n - k] ?? 0;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > k ? n - k : n;
  }
  return n;
}
