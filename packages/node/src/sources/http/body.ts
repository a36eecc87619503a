import { decodeDocument, type DecodedDocument } from '../bounded-read.js';

/**
 * Reads a response body as UTF-8 (a leading BOM dropped, SRC-05; bytes that are not UTF-8
 * refused), or `undefined` once it exceeds `maxBytes` (the read stops and the stream is
 * cancelled, so a huge or endless body costs at most `maxBytes`, CFG-07).
 */
export async function readBodyCapped(
  res: Response,
  maxBytes: number,
  /**
   * The source's own abort (its timeout, `stop()`): it ends the read even when the `fetch` in use
   * never looked at the signal it was given (an injected `fetch` that drops `init.signal`).
   */
  signal?: AbortSignal,
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
  let onAbort: (() => void) | undefined;
  const aborted =
    signal === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          onAbort = () => {
            reject(reason(signal));
            reader.cancel(signal.reason).catch(() => undefined);
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        });
  aborted?.catch(() => undefined); // an abort after the last read is nobody's error
  try {
    return await readAll();
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }

  async function readAll(): Promise<DecodedDocument | undefined> {
    for (;;) {
      const { done, value } = await (aborted === undefined
        ? reader.read()
        : Promise.race([reader.read(), aborted]));
      // A read the abort cut short ends as `done`: it is the abort, never an empty document.
      if (signal?.aborted) throw reason(signal);
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
}

/** `Retry-After` in ms (delta-seconds or an HTTP date), `undefined` when absent or unreadable. */
export function retryAfterMs(value: string | null, nowEpochMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowEpochMs) : undefined;
}

function reason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(String(r));
}
