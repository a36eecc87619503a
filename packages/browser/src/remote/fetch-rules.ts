import { MAX_CONFIG_BYTES } from '@graylane/core';

/** The fetch signature the remote rules need. */
export type RulesFetch = (input: string, init: RequestInit) => Promise<Response>;

/** One answer of the rules endpoint, classified. */
export type Answer =
  | { readonly kind: 'document'; readonly text: string; readonly etag: string | undefined }
  /** 304 to a request that named an ETag: the document in force is current. */
  | { readonly kind: 'unchanged' }
  /** 401/403: credentials are wrong; retrying cannot help (FLT-04). */
  | { readonly kind: 'fatal'; readonly message: string }
  /**
   * Answered, but with nothing graylane will take (oversized, empty, a redirect, a 304 that
   * confirms nothing): retrying at once would not help.
   */
  | { readonly kind: 'invalid'; readonly message: string }
  /** Worth a bounded retry: network error, timeout, 5xx, 429. */
  | { readonly kind: 'failed'; readonly message: string };

/**
 * @internal One conditional GET of the rules endpoint (`If-None-Match`), bypassing the HTTP cache
 * (graylane keeps its own, with the ETag), bounded in time and size (CFG-07). Never throws.
 *
 * The URL must answer itself: a redirect is never followed (`redirect: 'manual'`). Followed, it
 * would carry the caller's `headers` (an API key) to wherever `Location` points and adopt that
 * origin's rules; a page cannot read `Location` to judge the hop (an `opaqueredirect`), so no hop
 * is taken, same origin included (RDR-01 for the rules request itself).
 */
export async function fetchRules(
  call: RulesFetch,
  url: string,
  etag: string | undefined,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<Answer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await call(url, {
      headers: {
        accept: 'application/json',
        ...headers,
        ...(etag ? { 'if-none-match': etag } : {}),
      },
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'manual',
      signal: controller.signal,
    });
    // SRC-05: a 304 confirms the document in force only when the request named its ETag; to an
    // unconditional request (a cache answering for someone else) it proves nothing was loaded.
    if (res.status === 304)
      return etag
        ? { kind: 'unchanged' }
        : { kind: 'invalid', message: 'HTTP 304 before any document' };
    // Browsers hand a manual redirect over as status 0 (`opaqueredirect`), Node as the 3xx; an
    // injected fetch that followed anyway is caught by `redirected` (its rules are not adopted).
    if (res.type === 'opaqueredirect' || res.redirected || (res.status > 299 && res.status < 400))
      return { kind: 'invalid', message: 'redirect not followed' };
    if (res.status === 401 || res.status === 403)
      return { kind: 'fatal', message: `HTTP ${res.status}` };
    // Only a 200 or 203 holds the whole document (a 204 holds nothing, below); a 206 sent to a
    // request without `Range`, a 226 delta or any other status is a failure (review 58 N5).
    if (![200, 203, 204].includes(res.status))
      return { kind: 'failed', message: `HTTP ${res.status}` };
    const text =
      Number(res.headers.get('content-length')) > MAX_CONFIG_BYTES
        ? undefined
        : await readCapped(res, MAX_CONFIG_BYTES);
    if (text === false) return { kind: 'invalid', message: 'document is not UTF-8' };
    // A 204, or a 200 with nothing in it, loaded nothing either (SRC-05).
    return text?.trim()
      ? { kind: 'document', text, etag: res.headers.get('etag') ?? undefined }
      : {
          kind: 'invalid',
          message: `document rejected: ${text === undefined ? `larger than ${MAX_CONFIG_BYTES} bytes` : 'empty'}`,
        };
  } catch (err) {
    return {
      kind: 'failed',
      message: controller.signal.aborted ? `timed out after ${timeoutMs} ms` : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @internal The body as text, reading at most `cap` bytes: past it the read is cancelled (the
 * connection is dropped) and the answer is `undefined`. A body without a length header is
 * otherwise read whole before any size check, however long the endpoint keeps sending.
 *
 * Strict UTF-8, as `@graylane/node` and `@graylane/web` (SRC-05): bytes that are not UTF-8 (a
 * Latin-1 `é`) answer `false`, never U+FFFD inside a matcher value (a rule that silently never
 * matches). A leading BOM is dropped.
 */
export async function readCapped(res: Response, cap: number): Promise<string | false | undefined> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bad = false;
  const decode = (bytes?: Uint8Array): string => {
    try {
      return decoder.decode(bytes, { stream: !!bytes });
    } catch {
      bad = true;
      return '';
    }
  };
  const reader = res.body?.getReader();
  if (!reader) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = bytes.length > cap ? undefined : decode(bytes) + decode();
    return bad ? false : text;
  }
  let text = '';
  for (let size = 0; ;) {
    const { done, value } = await reader.read();
    if (done) text += decode();
    else if ((size += value.byteLength) <= cap) text += decode(value);
    if (bad || size > cap) void reader.cancel().catch(() => undefined);
    if (bad) return false;
    if (size > cap) return undefined;
    if (done) return text;
  }
}
