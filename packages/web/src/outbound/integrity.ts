/**
 * Subresource Integrity for the redirects withGray follows itself. Fetch checks a request's
 * integrity metadata against the body of the response it hands back (main fetch: "If request's
 * integrity metadata is not the empty string"); sent on every hop with `redirect: 'manual'`, it
 * would be checked against each 3xx's own body and reject. The hops go without it, and the final
 * response is checked here as Fetch and SRI check it
 * (https://w3c.github.io/webappsec-subresource-integrity/#does-response-match-metadatalist).
 */

/** The valid SRI hash algorithm tokens, weakest first (`sha384` → Web Crypto's `SHA-384`). */
const ALGORITHMS = ['sha256', 'sha384', 'sha512'];

/**
 * The integrity metadata withGray checks itself, or '' when there is none or the runtime's fetch
 * does not check it either: Deno (2.x) keeps `integrity` on a `Request` and ignores it; Bun's
 * `Request` drops it (''); workerd's refuses it before any hop.
 */
export function integrityOf(request: Request): string {
  const metadata = (request as { integrity?: unknown }).integrity;
  return typeof metadata === 'string' && !('Deno' in globalThis) ? metadata : '';
}

/**
 * `res` when its body matches `metadata`, else a `TypeError` (what fetch rejects with), the
 * unread body cancelled. The body is read from a clone, so the caller reads `res` as the runtime
 * made it.
 */
export async function checkIntegrity(
  res: Response,
  metadata: string,
  url: string,
): Promise<Response> {
  let bytes: ArrayBuffer | undefined;
  try {
    // Fetch: a null body (a 204, a HEAD) is a network error whatever the metadata says.
    if (res.body !== null) bytes = await res.clone().arrayBuffer();
  } catch (error) {
    discard(res);
    throw error;
  }
  if (bytes !== undefined && (await matches(bytes, metadata))) return res;
  discard(res);
  throw new TypeError(`[graylane] fetch ${url}: integrity mismatch`);
}

/** SRI "does response match metadataList", on the strongest algorithm only. */
async function matches(bytes: ArrayBuffer, metadata: string): Promise<boolean> {
  let strongest = -1;
  let values: string[] = [];
  // SRI "parse metadata": items split on ASCII whitespace, options after `?` ignored, unknown
  // algorithms skipped. Like undici, the value is all after the first `-` (base64url has `-`).
  for (const item of metadata.split(/[\t\n\f\r ]+/)) {
    const expression = item.split('?')[0] ?? '';
    const dash = expression.indexOf('-');
    // ASCII case-insensitive; no other character lowercases to one of `sha`.
    const algorithm = ALGORITHMS.indexOf(
      (dash < 0 ? expression : expression.slice(0, dash)).toLowerCase(),
    );
    const value = dash < 0 ? '' : expression.slice(dash + 1);
    if (algorithm > strongest) [strongest, values] = [algorithm, [value]];
    else if (algorithm === strongest && algorithm >= 0) values.push(value);
  }
  if (strongest < 0) return true;
  const digest = new Uint8Array(
    await crypto.subtle.digest(`SHA-${ALGORITHMS[strongest]?.slice(3)}`, bytes),
  );
  const actual = canonical(btoa(String.fromCharCode(...digest)));
  return values.some((v) => canonical(v) === actual);
}

/**
 * Base64 and base64url alike, padding ignored (undici, after web-platform-tests: "be liberal
 * with padding").
 */
const canonical = (value: string): string =>
  value.replace(/={1,2}$/, '').replace(/[-_]/g, (c) => (c === '-' ? '+' : '/'));

/**
 * Cancels the unread body of a response graylane does not hand back, without waiting for the
 * cancel to settle (I1, RDR-03): the body may not be graylane's to end. Next's fetch dedupe hands
 * back one branch of `body.tee()` and keeps the other in `React.cache` for the render; cancelling
 * one branch settles only once the other is cancelled or read too (Streams, ReadableStreamTee's
 * cancel algorithms), which never happens during that render, so an awaited cancel hangs the
 * render or route handler for good. The cancel still frees what it can; its rejection is nobody's.
 */
export function discard(res: Response): void {
  try {
    void res.body?.cancel().catch(() => undefined);
  } catch {
    // A body getter or cancel that throws: nothing to free.
  }
}
