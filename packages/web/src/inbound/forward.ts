import {
  applyQueryEdit,
  baggageMemberHeaders,
  bucketHeaderValue,
  DEFAULT_MARKER_KEY,
  GraylaneError,
  headerSpellings,
  removeBaggageMember,
  removeCookies,
  setBaggageMember,
  type CarrierEdits,
  type Decision,
} from '@graylane/core';

/** Carrier names of one engine (lower-case header; `false` when a carrier is off). */
export interface CarrierNames {
  readonly header: string;
  readonly cookie: string | false;
  readonly query: string | false;
  readonly baggage: string | false;
  /**
   * Every cookie name read for the marker (`__Host-gray`, `__Secure-gray` and `gray` by
   * default); `cookie` alone when absent.
   */
  readonly cookies?: readonly string[] | undefined;
  /** The bucket header (`bucketHeader` option), replaced or removed like a carrier. */
  readonly bucket?: string | undefined;
}

/**
 * Builds the request a gateway sends on (GW-01, GW-02): every carrier graylane reads — the
 * marker header, every marker cookie pair, the `gray` baggage member, the query marker, the
 * bucket header — and the `gray` member Jaeger and OT propagators carry in headers of their own
 * (`uberctx-gray`, `ot-baggage-gray`) is removed, headers under every `-`/`_` spelling, and when `decision` is given the decided
 * marker (and bucket) is written once. So an untrusted, rejected or overridden client marker
 * never travels on. What is not a carrier is kept byte for byte (the query string is never
 * re-encoded). The original request is not touched; its body (if any) moves to the new one.
 */
export function rewriteCarriers(
  request: Request,
  names: CarrierNames,
  decision: Decision | undefined,
  target?: string | URL,
  writeBaggage = true,
): Request {
  // The request's own URL or a target, the query marker removed wherever a reader finds it (a `#`
  // starts the query, see routerTarget) and every other byte as sent (review 81 D3).
  const from = target === undefined ? request.url : String(target);
  const url =
    names.query === false
      ? from
      : applyQueryEdit(from, { remove: [names.query], append: undefined });
  const headers = new Headers(request.headers);
  // A header name with `-` and `_` swapped (`x_gray_id`) is the same header to PHP, WSGI and Rack
  // upstreams (`HTTP_X_GRAY_ID`): every spelling of a carrier header goes (GW-02).
  const drop = (name: string): void => {
    headers.delete(name);
    for (const spelling of headerSpellings(name)) headers.delete(spelling);
  };
  drop(names.header);
  const cookies = names.cookies ?? (names.cookie === false ? [] : [names.cookie]);
  const cookie = headers.get('cookie');
  if (cookie !== null && cookies.length > 0) {
    const rest = removeCookies(cookie, cookies);
    if (rest === undefined || rest === '') headers.delete('cookie');
    else if (rest !== cookie) headers.set('cookie', rest);
  }
  const version = decision?.version;
  if (names.baggage !== false) {
    const existing = headers.get('baggage') ?? undefined;
    const next =
      version === undefined || !writeBaggage
        ? removeBaggageMember(existing, names.baggage)
        : setBaggageMember(existing, names.baggage, version);
    if (next === undefined) headers.delete('baggage');
    else headers.set('baggage', next);
  }
  // The member Jaeger and OT propagators carry in headers of their own: removed (under the
  // default key when the baggage carrier is off); the decided version travels in `baggage`.
  for (const name of baggageMemberHeaders(names.baggage || DEFAULT_MARKER_KEY)) drop(name);
  if (version !== undefined) headers.set(names.header, version);
  if (names.bucket !== undefined) {
    const bucket = decision === undefined ? undefined : bucketHeaderValue(decision);
    drop(names.bucket);
    if (bucket !== undefined) headers.set(names.bucket, bucket);
  }
  return rebuild(request, url, headers);
}

/**
 * The request with core's edits applied (what Node does to an `IncomingMessage`): the carriers
 * the decision did not keep are removed or rewritten, in every trust mode, and the bucket header
 * replaced. `request` itself when there is nothing to change.
 */
export function withEdits(request: Request, edits: CarrierEdits | undefined): Request {
  if (edits === undefined) return request;
  // Edited as sent: the marker goes wherever the engine read it (a `#` starts the query, see
  // routerTarget), every other `#` and `?` keeps its place, as on Node (review 81 D3).
  const url = edits.query ? applyQueryEdit(request.url, edits.query) : request.url;
  return rebuild(request, url, editedHeaders(request.headers, edits));
}

/**
 * `headers` with the header part of core's edits applied (a `WebOutcome`'s `edits`): the carriers
 * the decision did not keep removed or rewritten, the bucket header replaced. A copy; `headers`
 * itself when there is nothing to change, or when `edits` is not an outcome's (plain JS). Throws
 * `INVALID_OPTIONS` when there are edits and `headers` is not what `new Headers()` takes. For a
 * middleware that forwards headers rather than a `Request` (Next's
 * `NextResponse.next({ request: { headers } })`).
 *
 * @example
 * ```ts
 * const outcome = await gray.decide(request);
 * const headers = editedHeaders(request.headers, outcome.edits);
 * ```
 */
export function editedHeaders(headers: Headers, edits: CarrierEdits | undefined): Headers {
  if (!(edits?.headers instanceof Map) || edits.headers.size === 0) return headers;
  let edited: Headers;
  try {
    edited = new Headers(headers);
  } catch (cause) {
    throw new GraylaneError('INVALID_OPTIONS', 'editedHeaders: headers must be a Headers', {
      cause,
    });
  }
  for (const [name, value] of edits.headers)
    if (value === null) edited.delete(name);
    else edited.set(name, value);
  return edited;
}

/**
 * A new request to `url` with `headers`, the rest of `request` kept; its body moves to the new
 * one. A body already read (an earlier middleware parsed it) cannot move: the new request then
 * has none rather than the carriers staying (fail closed); the reader's own copy is unaffected.
 */
function rebuild(request: Request, url: string, headers: Headers): Request {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers,
    redirect: request.redirect,
    signal: request.signal,
  };
  if (request.body !== null && !request.bodyUsed) {
    init.body = request.body;
    init.duplex = 'half';
  }
  try {
    return new Request(url, init);
  } catch {
    // A body the runtime will not move (locked by a reader): the carriers still go.
    delete init.body;
    delete init.duplex;
    return new Request(url, init);
  }
}
