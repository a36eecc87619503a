import { GraylaneError, MAX_CONFIG_BYTES } from '@graylane/core';
import { MAX_RULES_REDIRECTS, isRedirect, nextHop } from './redirect.js';
import { createRefresher, type EdgeSourceOptions } from './refresher.js';
import type { EdgeRuleSource, LoadResult } from './types.js';

/** The fetch an HTTP rule source needs. */
export type RulesFetch = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createHttpRules}. */
export interface HttpRulesOptions extends EdgeSourceOptions {
  /** The endpoint serving the JSON config document. */
  readonly url: string | URL;
  /**
   * Extra request headers (e.g. `authorization`). They go to the URL's origin only: a redirect
   * to another origin is followed without them (a 401/403 there is then a failure that backs
   * off, not fatal: point `url` at the final URL), and one from https to http is not followed.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** fetch to use. Default `globalThis.fetch`, looked up at each read. */
  readonly fetch?: RulesFetch | undefined;
}

/**
 * 401/403 from the URL's origin: the credentials are wrong; retrying cannot help (FLT-04). From
 * another origin a redirect led to, which was sent no headers, they are an ordinary failure.
 */
const FATAL: ReadonlySet<number> = new Set([401, 403]);
/** 429/503: come back later; `Retry-After` is honoured (FLT-05). */
const THROTTLED: ReadonlySet<number> = new Set([429, 503]);

/**
 * Rules from an HTTP endpoint with `If-None-Match`/ETag, refreshed on requests at most every
 * `minIntervalMs` (the schedule a Worker allows: no long timers, work handed to `waitUntil`).
 * 304 keeps the config; failures back off; 401/403 from the URL's origin stop the source (after
 * a redirect to another origin they back off: no headers went there); the last-known-good config
 * stays in force throughout. Redirects are followed by the source itself (`redirect: 'manual'`,
 * at most 5 hops), as `@graylane/node`'s HTTP source does: the caller's `headers` only ever go
 * to the URL's origin, https is never downgraded to http, and a runtime that hides the
 * `Location` (an `opaqueredirect`) or a `fetch` that followed on its own is not adopted (RDR-01).
 *
 * @example
 * ```ts
 * const rules = createHttpRules({ url: 'https://config.internal/graylane.json', minIntervalMs: 15_000 });
 * const gray = createGraylane({ config: embedded, rules });
 * ```
 */
export function createHttpRules(options: HttpRulesOptions): EdgeRuleSource {
  if (options?.url == null)
    throw new GraylaneError('INVALID_OPTIONS', 'createHttpRules: url is required');
  const url = String(options.url);
  const scrub = scrubber(url);
  return createRefresher(options, 'http', async (etag, signal): Promise<LoadResult> => {
    const fetchImpl = options.fetch ?? (globalThis.fetch as RulesFetch);
    const headersFor = (trusted: boolean): Record<string, string> => {
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(trusted ? options.headers : undefined),
      };
      if (etag !== undefined) headers['if-none-match'] = etag;
      return headers;
    };
    let origin: string;
    let at: URL;
    try {
      at = new URL(url);
      origin = at.origin;
    } catch {
      return { kind: 'failed', message: 'read failed: `url` is not an absolute URL' };
    }
    let trusted = true;
    let res: Response;
    for (let hops = 0; ; hops++) {
      try {
        // The first request names the URL exactly as given (the scrubber knows that text).
        res = await fetchImpl(hops === 0 ? url : at.href, {
          headers: headersFor(trusted),
          signal,
          redirect: 'manual',
        });
      } catch (err) {
        // The runtime's error text may quote the URL, credentials and a presigned query included;
        // after a hop it may quote the hop's URL, which the scrubber does not know.
        const text = scrub(String(err));
        return { kind: 'failed', message: `read failed: ${hops === 0 ? text : noUrls(text)}` };
      }
      if (res.type === 'opaqueredirect' || res.redirected) {
        await res.body?.cancel().catch(() => undefined);
        return { kind: 'failed', message: 'redirect not followed: its Location cannot be checked' };
      }
      if (!isRedirect(res.status)) break;
      await res.body?.cancel().catch(() => undefined);
      if (hops >= MAX_RULES_REDIRECTS)
        return { kind: 'failed', message: `more than ${MAX_RULES_REDIRECTS} redirects` };
      const hop = nextHop(at, res.headers.get('location'));
      if (!hop.ok) return { kind: 'failed', message: `HTTP ${res.status}: ${hop.reason}` };
      trusted &&= hop.url.origin === origin;
      at = hop.url;
    }
    // SRC-05: a 304 to a request that named no ETag (nothing loaded yet) loaded nothing.
    if (res.status === 304)
      return etag === undefined
        ? { kind: 'failed', message: 'HTTP 304 Not Modified before any document was loaded' }
        : { kind: 'unchanged' };
    // Only 200 and 203 carry the whole document a GET without `Range` asked for: a 206 is part of
    // it (a broken cache or server), 226 a delta, 204/205 nothing (as @graylane/node's source).
    if (res.status !== 200 && res.status !== 203) {
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300)
        return {
          kind: 'failed',
          message: `HTTP ${res.status}: not the whole document (only 200 and 203 carry it)`,
        };
      // After a hop to another origin, a 401/403 refused no credentials of the caller's: none
      // were sent there. A failure like any other (backoff), never the end of the source.
      if (FATAL.has(res.status))
        return trusted
          ? { kind: 'fatal', message: `HTTP ${res.status} from ${scrub(url)}` }
          : {
              kind: 'failed',
              message: `HTTP ${res.status} from ${at.origin} after a redirect to another origin: the source's headers (credentials) were not sent to that origin; point the source's url at the final URL`,
            };
      return {
        kind: 'failed',
        message: `HTTP ${res.status}`,
        retryAfterMs: THROTTLED.has(res.status)
          ? retryAfter(res.headers.get('retry-after'))
          : undefined,
      };
    }
    const text = await readCapped(res, MAX_CONFIG_BYTES);
    if (text === undefined)
      return { kind: 'failed', message: `document larger than ${MAX_CONFIG_BYTES} bytes` };
    if (text === NOT_UTF8) return { kind: 'failed', message: 'document is not UTF-8' };
    return { kind: 'document', value: text, etag: res.headers.get('etag') ?? undefined };
  });
}

/** What {@link readCapped} returns for bytes that are not UTF-8. */
const NOT_UTF8: unique symbol = Symbol('not UTF-8');

/**
 * Reads the body as UTF-8, or undefined past `maxBytes` (the stream is cancelled: CFG-07). As
 * Node's HTTP source: a BOM is dropped, bytes that are not UTF-8 refuse the document (SRC-05),
 * never decoded to U+FFFD inside a rule value.
 */
async function readCapped(
  res: Response,
  maxBytes: number,
): Promise<string | typeof NOT_UTF8 | undefined> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let total = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    try {
      text += decoder.decode(value, { stream: true });
    } catch {
      await reader.cancel().catch(() => undefined);
      return NOT_UTF8;
    }
  }
  try {
    return text + decoder.decode();
  } catch {
    return NOT_UTF8;
  }
}

/** Any URL in `text` replaced by `<url>` (a hop's URL may carry a presigned query). */
function noUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
}

function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * Removes what a log line or a status must not show of `url`: its user name and password and its
 * query string (a presigned URL's signature), wherever the text quotes them. Never throws.
 */
function scrubber(url: string): (text: string) => string {
  let shown = '(rules URL)';
  const secrets: string[] = [];
  try {
    const u = new URL(url);
    let password = u.password;
    try {
      password = decodeURIComponent(password);
    } catch {
      // kept as written
    }
    for (const part of [u.password, password, u.username, u.search.slice(1)])
      if (part.length >= 3) secrets.push(part);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    shown = u.href;
  } catch {
    // An unparsable URL is never shown.
  }
  return (text) => {
    let out = text.split(url).join(shown);
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}
