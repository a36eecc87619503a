import { decodeDocument, type DecodedDocument } from '../bounded-read.js';

/**
 * Reads a response body as UTF-8 (a leading BOM dropped, SRC-05; bytes that are not UTF-8
 * refused), or `undefined` once it exceeds `maxBytes` (the read stops and the stream is
 * cancelled, so a huge or endless body costs at most `maxBytes`, CFG-07).
 */
export async function readBodyCapped(
  res: Response,
  maxBytes: number,
): Promise<DecodedDocument | undefined> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!res.body) return { ok: true, text: '' };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return decodeDocument(Buffer.concat(chunks, total));
}

/** `Retry-After` in ms (delta-seconds or an HTTP date), `undefined` when absent or unreadable. */
export function retryAfterMs(value: string | null, nowEpochMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowEpochMs) : undefined;
}
