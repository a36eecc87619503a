import {
  GraylaneError,
  MAX_CONFIG_BYTES,
  createBackoff,
  type BackoffOptions,
  type ConfigStore,
  type RuleSource,
  type SourceOptions,
  type TimerHandle,
  sourceRuntime,
  describeError,
  oneLine,
  reportFailedLoad,
} from '@graylane/core';
import { safeUpdate } from '../apply.js';
import { checkBackoff, timing } from '../timing.js';
import {
  BACKOFF_MAX_MS,
  HTTP_INTERVAL_MS,
  HTTP_MAX_REDIRECTS,
  HTTP_TIMEOUT_MS,
} from '../constants.js';
import { readBodyCapped, retryAfterMs } from './body.js';
import { classifyStatus } from './classify.js';
import { isRedirect, nextHop } from './redirect.js';
import { checkSourceUrl } from './url.js';

/**
 * What one poll's redirect chain tells `handle`: `withoutHeaders`, the origin a redirect led to,
 * which was sent none of `headers`; `validator`, the If-None-Match the last hop sent.
 */
interface Route {
  withoutHeaders?: string;
  validator?: string | undefined;
}

/** The fetch signature the HTTP source needs. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createHttpSource}. */
export interface HttpSourceOptions extends SourceOptions {
  /**
   * The endpoint serving the JSON config document: `http:` or `https:`, without credentials
   * (those go in `headers`; a URL with them is refused). Logs and the status show it without
   * credentials and without its query string.
   */
  readonly url: string | URL;
  /**
   * Poll interval after a success. Default 15 s. This, `timeoutMs` and `backoff.initialMs` /
   * `maxMs` must be numbers > 0 and ≤ 2^31 − 1 ms: anything else throws `INVALID_OPTIONS` at
   * construction (a zero or NaN delay would poll in a loop).
   */
  readonly intervalMs?: number | undefined;
  /**
   * Per-request timeout, body included. Default 10 s. It bounds the `fetch` call itself too, so
   * an injected `fetch` that ignores its abort signal cannot hang `start()` or the schedule.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Extra request headers (for example `authorization`), or a function returning them per
   * request. They go to the URL's origin only: a redirect to another origin is followed without
   * them (a 401/403 there is then a failure that backs off, not fatal: point `url` at the final
   * URL), and a redirect from https to http is not followed at all (RDR-01).
   */
  readonly headers?:
    Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>) | undefined;
  /** fetch to use. Default: `globalThis.fetch`, looked up at each request. */
  readonly fetch?: FetchLike | undefined;
  /** Failure schedule. Default 1 s doubling to 60 s, ±20 %. */
  readonly backoff?: BackoffOptions | undefined;
}

/**
 * A rule source that polls an HTTP endpoint with `If-None-Match`. Failures back off 1 s, 2 s, 4 s
 * … 60 s with ±20 % jitter; 429/503 never retry faster than the interval and honour
 * `Retry-After`; 401/403 from the URL's origin stop the source with a loud error (from another
 * origin a redirect led to, which got no headers, they back off). Redirects are followed by the source
 * itself (at most 5): the caller's headers only ever go to the URL's origin, and https is never
 * downgraded. The last-known-good config stays in force through every failure. A URL that can
 * never work (not http(s), credentials in it) stops the source at start with the reason: nothing
 * is sent, and neither logs nor the status ever show a password or the query string.
 *
 * @example
 * ```ts
 * const http = createHttpSource({
 *   url: 'https://config.internal/graylane.json',
 *   headers: { authorization: `Bearer ${token}` },
 *   intervalMs: 30_000,
 * });
 * await http.start(store);
 * ```
 */
export function createHttpSource(options: HttpSourceOptions): RuleSource {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError('INVALID_OPTIONS', 'createHttpSource: options are required ({ url })');
  const checked = checkSourceUrl(options.url);
  const url = checked.display;
  const { name, label, clock, logger, status } = sourceRuntime(options, 'http');
  const interval = timing(options.intervalMs, HTTP_INTERVAL_MS, 'intervalMs');
  const timeout = timing(options.timeoutMs, HTTP_TIMEOUT_MS, 'timeoutMs');
  const backoff = createBackoff(checkBackoff(options.backoff));
  const maxDelay = options.backoff?.maxMs ?? BACKOFF_MAX_MS;
  // A static record is checked now: a value fetch refuses is a mistake to show at startup.
  if (typeof options.headers !== 'function' && options.headers != null) {
    const bad = badHeader(options.headers);
    if (bad !== undefined) throw new GraylaneError('INVALID_OPTIONS', `createHttpSource: ${bad}`);
  }
  /** The caller's header values sent so far: never shown in a message (review 75 D2). */
  const secrets = new Set<string>();
  let store: ConfigStore | undefined;
  let etag: string | undefined;
  /** A document from this source was accepted (changed or unchanged) at least once. */
  let loaded = false;
  let timer: TimerHandle | undefined;
  let inflight: AbortController | undefined;
  let stopped = false;

  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      void poll();
    }, ms);
  };
  // Once stopped, a late answer (an injected fetch that ignored the abort) changes nothing. Every
  // failure but a document the store rejected (which the store's result counts) offered the store
  // nothing: counted as a failed load.
  const fail = (problem: string, delay = backoff.next(), offered = false): void => {
    if (stopped) return;
    if (!offered) reportFailedLoad(store, name);
    const message = oneLine(problem);
    if (status.get().lastError !== message)
      logger.warn(
        `[graylane] ${label} source ${oneLine(url, 300)}: ${message}; keeping the last good config`,
      );
    status.failed(message);
    schedule(delay);
  };
  const succeed = (): void => {
    if (stopped) return;
    backoff.reset();
    status.succeeded();
    schedule(interval);
  };

  /** The caller's headers only for the configured origin; elsewhere just what HTTP needs. */
  const requestHeaders = (withCaller: boolean): Record<string, string> => {
    const extra = !withCaller ? {} : callerHeaders();
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (etag !== undefined) headers['if-none-match'] = etag;
    return headers;
  };

  /**
   * The caller's headers for this poll. What goes wrong is said without any value: the
   * function's own error message, or fetch's for a value it refuses, may quote a credential.
   */
  const callerHeaders = (): Record<string, string> => {
    let extra: Record<string, string>;
    try {
      extra = typeof options.headers === 'function' ? options.headers() : (options.headers ?? {});
    } catch (err) {
      throw new Error(
        `the headers() function threw ${errorName(err)} (its message is not shown: it may hold a credential)`,
      );
    }
    const bad = badHeader(extra);
    if (bad !== undefined) throw new Error(`headers(): ${bad}`);
    for (const v of Object.values(extra)) for (const secret of secretsIn(v)) secrets.add(secret);
    while (secrets.size > 64) secrets.delete(secrets.values().next().value as string);
    return extra;
  };

  /**
   * One GET, following redirects here rather than in fetch (which would re-send custom
   * credential headers such as `x-api-key` to any origin a redirect names): once the chain
   * leaves the configured origin, the caller's headers are never sent again in this poll, and
   * `route.withoutHeaders` names the origin that answered without them.
   */
  const get = async (
    endpoint: URL,
    signal: AbortSignal,
    route: Route,
  ): Promise<Response | string> => {
    const fetchImpl = options.fetch ?? (globalThis.fetch as FetchLike);
    let at = endpoint;
    let trusted = true;
    for (let hops = 0; ; hops++) {
      // `origin` has no userinfo, path or query: safe to show.
      if (!trusted) route.withoutHeaders = at.origin;
      const headers = requestHeaders(trusted);
      // What the response to this hop may confirm: a 304 means "unchanged" only as the answer
      // to the validator this hop sent.
      route.validator = headers['if-none-match'];
      const res = await fetchImpl(at.href, { headers, signal, redirect: 'manual' });
      // An injected fetch may answer after the timeout or stop() it ignored: take no further hop.
      if (signal.aborted) {
        await res.body?.cancel().catch(() => undefined);
        throw abortReason(signal);
      }
      if (!isRedirect(res.status)) return res;
      await res.body?.cancel().catch(() => undefined);
      if (hops >= HTTP_MAX_REDIRECTS) return `more than ${HTTP_MAX_REDIRECTS} redirects`;
      const hop = nextHop(at, res.headers.get('location'));
      if (!hop.ok) return `HTTP ${res.status}: ${hop.reason}`;
      trusted &&= hop.url.origin === endpoint.origin;
      at = hop.url;
    }
  };

  const poll = async (): Promise<void> => {
    if (stopped || !store || !checked.ok) return;
    const controller = new AbortController();
    inflight = controller;
    const timeoutTimer = clock.setTimeout(
      () => controller.abort(new Error(`timed out after ${timeout} ms`)),
      timeout,
    );
    try {
      // Raced against the abort, as the body read is: a fetch that ignores its signal must not
      // hang start() or end the schedule (a poll that never settles never schedules the next).
      const route: Route = {};
      const res = await untilAborted(get(checked.url, controller.signal, route), controller.signal);
      if (typeof res === 'string') fail(res);
      else await handle(res, store, controller.signal, route);
    } catch (err) {
      if (!stopped)
        fail(
          `request failed: ${controller.signal.aborted ? String(controller.signal.reason) : describeFetchError(err, secrets)}`,
        );
    } finally {
      clock.clearTimeout(timeoutTimer);
      inflight = undefined;
    }
  };

  const handle = async (
    res: Response,
    target: ConfigStore,
    signal: AbortSignal,
    { withoutHeaders, validator }: Route,
  ): Promise<void> => {
    if (stopped) return void res.body?.cancel().catch(() => undefined);
    const outcome = classifyStatus(res.status);
    if (outcome !== 'ok') await res.body?.cancel().catch(() => undefined);
    switch (outcome) {
      case 'not-modified':
        // A 304 confirms a document only as the answer to the If-None-Match this source sent
        // (the ETag of a document it loaded). Before any load, or to a request without a
        // validator (the document came without an ETag), it is a cache or proxy answering for
        // someone else and proves nothing: a failure, never a refreshed lastSuccess (SRC-05).
        if (!loaded)
          return fail('HTTP 304 Not Modified before any document was loaded from this source');
        if (validator === undefined)
          return fail(
            'HTTP 304 Not Modified to a request without If-None-Match (the document came without an ETag): a cache or proxy answered for someone else',
          );
        return succeed();
      case 'fatal': {
        if (stopped) return;
        // Not the caller's credentials being refused: they were never sent there. A failure
        // like any other (the redirect may go away), never the end of the source.
        if (withoutHeaders !== undefined)
          return fail(
            `HTTP ${res.status} from ${withoutHeaders} after a redirect to another origin: the source's headers (credentials) were not sent to that origin; point the source's url at the final URL`,
          );
        const error = new GraylaneError(
          'SOURCE_FATAL',
          `${label} source ${url} answered ${res.status}: check the credentials; the source stopped and the last good config stays in force`,
        );
        logger.error(error.message, error);
        reportFailedLoad(target, name);
        return status.fatal(`HTTP ${res.status}`);
      }
      case 'throttled': {
        const hint = retryAfterMs(res.headers.get('retry-after'), clock.wallNow()) ?? 0;
        return fail(
          `HTTP ${res.status}`,
          Math.max(interval, backoff.next(), Math.min(hint, maxDelay)),
        );
      }
      case 'retry':
        return fail(
          res.status >= 200 && res.status < 300
            ? `HTTP ${res.status}: not the whole document (only 200 and 203 carry it)`
            : `HTTP ${res.status}`,
        );
      case 'ok':
        break;
    }
    const body = await readBodyCapped(res, MAX_CONFIG_BYTES, signal);
    if (stopped) return;
    if (body === undefined) return fail(`document larger than ${MAX_CONFIG_BYTES} bytes`);
    if (!body.ok) return fail(`document rejected: ${body.reason}`, interval);
    const text = body.text;
    // No revision: polls are serial within this source, and a store-wide guard keyed by the
    // source name would drop a re-created source or a second source with the same name (SRC-03).
    const result = safeUpdate(target, text, name);
    if (result.status === 'rejected')
      return fail(`document rejected: ${describeError(result.error)}`, interval, true);
    // An empty ETag is none: an empty If-None-Match validates nothing.
    etag = res.headers.get('etag') || undefined;
    loaded = true;
    succeed();
  };

  return {
    name,
    async start(target) {
      if (store) return;
      store = target;
      if (!checked.ok) {
        // A URL that can never work: nothing is sent, nothing is retried (FLT-04).
        const error = new GraylaneError(
          'SOURCE_FATAL',
          `${label} source ${url}: ${checked.reason}; the source stopped and the last good config stays in force`,
        );
        logger.error(error.message, error);
        reportFailedLoad(target, name);
        return status.fatal(checked.reason);
      }
      await poll();
    },
    stop() {
      if (!stopped) {
        stopped = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        inflight?.abort(new Error('source stopped'));
        status.stopped();
      }
      return Promise.resolve();
    },
    status: () => status.get(),
  };
}

/**
 * `work`, or the signal's reason as soon as it aborts. A late result of `work` is dropped (its
 * body cancelled), a late failure swallowed: nobody is waiting for them any more.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.then(
    (late) => {
      if (signal.aborted && late instanceof Response)
        void late.body?.cancel().catch(() => undefined);
    },
    () => undefined,
  );
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(String(r));
}

/**
 * A fetch failure in one line, with its cause (undici's `fetch failed` says nothing alone) and
 * without any URL it may quote (a query token must not reach the logs).
 */
function describeFetchError(err: unknown, secrets: ReadonlySet<string>): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  const text = cause === undefined ? String(err) : `${String(err)} (${String(cause)})`;
  // URLs first: a value such as `https` must not break a URL's shape before it is taken out.
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
  // A credential header's value, wherever a client or a cause quoted it.
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/**
 * What of a header value to keep out of messages: the value, and the credential after an
 * auth scheme (`Bearer <token>`, which a client's error may quote alone); parts shorter than 8
 * characters are no credential (`https`, `8443`, `true` would garble ordinary text).
 */
function secretsIn(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const v = value.trim();
  return [v, v.split(/\s+/).slice(1).join(' ')].filter((p) => p.length >= 8);
}

/** RFC 9110 field names; fetch refuses any other. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What fetch refuses in a value (NUL, CR, LF) or cannot send (beyond Latin-1). */
const BAD_VALUE = /[\0\r\n\u0100-\uffff]/;

/**
 * What is wrong with a header record (a name, never a value: values are credentials), or
 * undefined when fetch takes every pair.
 */
function badHeader(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    return 'headers must be a record of name → value';
  for (const [name, value] of Object.entries(headers)) {
    const shown = oneLine(JSON.stringify(name.slice(0, 80)));
    if (!FIELD_NAME.test(name)) return `header name ${shown} is not a valid HTTP field name`;
    if (typeof value !== 'string')
      return `header ${shown} has a ${typeof value} value; header values are strings`;
    if (BAD_VALUE.test(value))
      return `header ${shown} has a value fetch refuses (a line break, NUL or a character beyond U+00FF); its value is not shown`;
  }
  return undefined;
}

function errorName(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^\w{1,40}$/.test(name) ? name : 'an error';
}
