import { baggageMemberHeaders, mayHoldMember, stripBaggageMember } from '../markers/baggage.js';
import { mayHoldCookie, namedCookie, readCookies, stripCookies } from '../markers/cookie.js';
import { trimOws } from '../markers/parse.js';
import type { KeyRead } from '../markers/read.js';
import { mayHoldKey } from '../markers/key-spelling.js';
import type { MarkerSource } from '../reasons.js';
import { bucketHeaderValue } from '../rules/bucket-header.js';
import type { Decision } from '../rules/types.js';
import { MAX_COOKIE_PAIRS } from '../limits.js';
import { DEFAULT_MARKER_COOKIES } from './cookie-names.js';
import { DEFAULT_MARKER_KEY } from './defaults.js';
import { removeAsSent, removeSemicolonsAsSent } from './target.js';
import { headerSpellings } from './header-spellings.js';
import type { Extraction } from './extract.js';
import type { ResolvedInbound } from './resolve.js';
import type { CarrierView } from './view.js';

/**
 * How the request must change so that what the app and any proxy see carries exactly the
 * decided version (GW-01/02): each entry sets a header to a new value, or removes it (`null`).
 * `query` removes parameters (every occurrence, under every spelling a next hop reads as the
 * name: `GRAY`, `%47RAY`, `gray[]`, PHP's `+gray`; see `removeQueryParam`) and may append one;
 * a `;` parameter next to a removed one is judged on its own (`?gray=beta;y=2` keeps `;y=2`).
 */
export interface CarrierEdits {
  /** Lower-case header name → new value, or `null` to remove the header. */
  readonly headers: ReadonlyMap<string, string | null>;
  readonly query: QueryEdit | undefined;
}

/** A change to the query string, applicable to any URL the platform holds (`url`, `originalUrl`). */
export interface QueryEdit {
  readonly remove: readonly string[];
  readonly append: readonly [name: string, value: string] | undefined;
  /**
   * The edit already applied to the URL it was decided on (`from` → `to`), so applying it to that
   * same URL costs a compare, not a second rewrite; {@link applyQueryEdit} computes any other URL
   * (express's `originalUrl`, a full URL) from `remove` and `append`.
   */
  readonly applied?: { readonly from: string; readonly to: string } | undefined;
  /**
   * Edge mode: the parameters also go where a reader that splits at `;` finds them (`/x;gray=beta`,
   * `?a=1;gray=beta`), so a next hop that does never reads the client's marker there.
   */
  readonly semicolons?: boolean | undefined;
}

/**
 * Applies a {@link QueryEdit} to a request target or URL as the client sent it: the parameters
 * are removed under every spelling a next hop could read as their names (`GRAY=beta` too: GW-02),
 * and wherever a reader could find them (after a `#` too, see `routerTarget`), the appended one
 * goes last; the path and the other parameters stay byte for byte, and every `#` and `?` that
 * stays keeps its place (`removeAsSent`).
 *
 * @example
 * ```ts
 * applyQueryEdit('/a?gray=gamma&x=1', { remove: ['gray'], append: undefined }); // '/a?x=1'
 * ```
 */
export function applyQueryEdit(url: string, edit: QueryEdit): string {
  if (edit.applied !== undefined && edit.applied.from === url) return edit.applied.to;
  let out = removeAsSent(url, edit.remove);
  if (edit.semicolons === true) out = removeSemicolonsAsSent(out, edit.remove);
  return edit.append ? withParam(out, edit.append) : out;
}

/** `url` with `name=value` appended last in its query (before any fragment). */
function withParam(url: string, [name, value]: readonly [string, string]): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const frag = hash === -1 ? '' : url.slice(hash);
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${name}=${value}${frag}`;
}

type Fate = 'keep' | 'rewrite' | 'remove';

/** True when `text` holds fewer than `count` of `c` (stops searching at `count`). */
function fewerThan(text: string, c: string, count: number): boolean {
  let at = -1;
  for (let k = 0; k < count; k++) {
    at = text.indexOf(c, at + 1);
    if (at === -1) return true;
  }
  return false;
}

/**
 * GW-01/02: decides the fate of every marker carrier the client sent, given the decision.
 * - edge mode, untrusted peer: every carrier is removed;
 * - the carrier the decision came from is kept, or rewritten to the plain version label (a
 *   signed token becomes the label the next, internal hop reads);
 * - in signed mode every other carrier is removed (a bare label there was never trusted);
 * - otherwise a carrier is kept only if it was not rejected and already says the decided version;
 * - a carrier graylane does not read (switched off) is removed under its default name, so a
 *   later hop with default settings never honours what this one ignored (OTB-02).
 * Pure: returns the edits, or undefined when the request is already clean.
 */
export function carrierEdits(
  view: CarrierView,
  opts: ResolvedInbound<never>,
  found: Extraction,
  decision: Decision,
  honourClient: boolean,
  cookieNames: readonly string[],
): CarrierEdits | undefined {
  const version = decision.version;
  const rejected = new Set<MarkerSource>(found.rejections.map((r) => r.source));
  const fate = (source: MarkerSource, enabled: boolean, says: boolean, decisive = true): Fate => {
    if (!honourClient || !enabled) return 'remove';
    if (found.source === source && decisive) return says ? 'keep' : 'rewrite';
    if (opts.trust === 'signed' || rejected.has(source)) return 'remove';
    return says ? 'keep' : 'remove';
  };
  const headers = new Map<string, string | null>();
  // Header.
  const raw = view.header(opts.header);
  if (raw !== undefined) {
    const value =
      typeof raw === 'string'
        ? trimOws(raw)
        : raw.length === 1
          ? trimOws(raw[0] as string)
          : undefined;
    const f = fate('header', true, value === version);
    if (f === 'rewrite') headers.set(opts.header, version);
    else if (f === 'remove') headers.set(opts.header, null);
  }
  // The header's other spellings (`x_gray_id`): the marker to PHP, WSGI and Rack apps, which read
  // `-` and `_` alike, never honoured here, so they always go, in every mode (GW-02).
  removeSpellings(view, opts.header, headers);

  // Cookies: every marker name (`__Host-`, `__Secure-` and plain), or the defaults when off.
  // Only a name some pair really has is judged (not `xgray=1` or `a=gray`); a header with no
  // spelling of one in any case is never rebuilt, even one the readers refused as too long. The
  // readers stop at 180 pairs, so a marker past them reads as absent: it is read from its own
  // pair on, judged like one read. Every other spelling a next hop reads (`GRAY=beta`, nginx and
  // ASP.NET Core) is never honoured here, so it always goes (GW-02, CK-10).
  const names = opts.cookie === false ? DEFAULT_MARKER_COOKIES : cookieNames;
  const cookieHeader = view.header('cookie');
  // Several lines joined as the readers join them (no copy for the usual single string).
  const text = typeof cookieHeader === 'string' ? cookieHeader : cookieHeader?.join('; ');
  if (text !== undefined && mayHoldCookie(text, names)) {
    const keep: string[] = [];
    let append: string | undefined;
    // Whether the readers' parse read the whole header: fewer than 180 `;`, so their cap of 180
    // pairs was never reached (worked out once, when asked).
    let whole: boolean | undefined;
    for (const name of names) {
      // A name the request's parse found is on a pair; one it did not find is on none when that
      // parse read everything (AMP-03: no search of a 12 KiB list value for `gray=`).
      let r = view.parsedCookie(name);
      if (r === undefined || r.kind === 'absent' || r.kind === 'too_long') {
        if (r?.kind === 'absent' && (whole ??= fewerThan(text, ';', MAX_COOKIE_PAIRS))) continue;
        const at = namedCookie(text, name);
        if (at === -1) continue;
        r ??= view.cookie(name);
        if (r.kind === 'absent') r = readCookies(text.slice(at), [name])[0] as KeyRead;
      }
      const says = r.kind === 'value' && trimOws(r.value) === version;
      const f = fate('cookie', opts.cookie !== false, says, name === found.cookieName);
      if (f === 'keep') keep.push(name);
      else if (f === 'rewrite' && append === undefined) append = `${name}=${version}`;
    }
    const rest = stripCookies(text, names, keep, version);
    if (rest !== text || append !== undefined) {
      const next = [rest, append].filter((x) => x !== undefined).join('; ');
      headers.set('cookie', next === '' ? null : next);
    }
  }

  // Baggage: a bounded removal pass whenever the key could be in the header and the member is
  // not kept; past the reader's caps a tail that could hold the key is dropped, so no more
  // lenient reader downstream sees it.
  const key = opts.baggage === false ? DEFAULT_MARKER_KEY : opts.baggage;
  const bag = view.header('baggage');
  if (bag !== undefined) {
    const text = typeof bag === 'string' ? bag : bag.join(',');
    if (mayHoldMember(text, key)) {
      const read = opts.baggage === false ? undefined : view.baggage(key);
      const f = fate(
        'baggage',
        opts.baggage !== false,
        read?.kind === 'value' && trimOws(read.value) === version,
      );
      if (f !== 'keep') {
        const { rest, removed } = stripBaggageMember(text, key);
        if (removed > 0) {
          const ours = f === 'rewrite' ? `${key}=${version}` : undefined;
          const next = ours === undefined ? rest : rest === undefined ? ours : `${ours},${rest}`;
          headers.set('baggage', next ?? null);
        }
      }
    }
  }

  // The member in the headers of its own other OpenTelemetry propagators carry (Jaeger's
  // `uberctx-gray`, OT's `ot-baggage-gray`): graylane never decides from them, but a service behind
  // this one whose propagator reads them would. Kept only where a client's bare label is honoured
  // and it is exactly the decided version; removed otherwise (edge mode's untrusted peer, signed
  // mode, any other value, several values). Never added.
  const honoured = honourClient && opts.baggage !== false && opts.trust !== 'signed';
  for (const name of baggageMemberHeaders(key)) {
    const member = view.header(name);
    // Several values arrive as a list, never equal to a label.
    if (member !== undefined && !(honoured && member === version)) headers.set(name, null);
    removeSpellings(view, name, headers);
  }

  // Query: the rewrite is computed once, on the URL the view read, and carried in the edit.
  const param = opts.query === false ? DEFAULT_MARKER_KEY : opts.query;
  let query: QueryEdit | undefined;
  const { url, search } = view;
  // Edge and signed mode: a `;gray=…` parameter is a marker to a next hop that splits at `;`
  // (fastify 4), whatever this one reads: it never travels on (reviews 113 D1, 116 D3). graylane
  // itself never sends a marker that way.
  const semicolons = opts.trust !== 'open' && url !== undefined && url.includes(';');
  // A query with no key that could spell the marker in any case or escape is left alone, unread.
  if (url !== undefined && (semicolons || (search !== undefined && mayHoldKey(search, param)))) {
    const read = opts.query === false ? undefined : view.query(param);
    const f = fate(
      'query',
      opts.query !== false,
      read?.kind === 'value' && trimOws(read.value) === version,
    );
    let stripped = f === 'keep' ? url : removeAsSent(url, [param]);
    if (semicolons) stripped = removeSemicolonsAsSent(stripped, [param]);
    if (stripped !== url) {
      const append = f === 'rewrite' ? ([param, version] as const) : undefined;
      const to = append ? withParam(stripped, append) : stripped;
      // The edit also goes to spellings of the target this view did not read (a router's
      // view with the `;` part taken as the query): `applyQueryEdit` strips `;` parameters there.
      const edge = opts.trust !== 'open' ? { semicolons: true } : {};
      query = { remove: [param], append, applied: { from: url, to }, ...edge };
    }
  }
  return headers.size > 0 || query ? { headers, query } : undefined;
}

/**
 * `edits` plus the bucket header (`bucketHeader` option): a weighted decision's bucket, so a
 * proxy behind this one splits the same way; anything the client sent under that name is
 * replaced or removed, and under another spelling of it (`x_gray_bucket`) removed. Pure.
 */
export function withBucketHeader(
  edits: CarrierEdits | undefined,
  name: string,
  decision: Decision,
  view: CarrierView,
): CarrierEdits | undefined {
  const value = bucketHeaderValue(decision);
  const spelled = headerSpellings(name).some((s) => view.header(s) !== undefined);
  if (value === undefined && !spelled && view.header(name) === undefined) return edits;
  const headers = new Map(edits?.headers ?? []);
  headers.set(name, value ?? null);
  if (spelled) removeSpellings(view, name, headers);
  return { headers, query: edits?.query };
}

/** Removes every other spelling of the header `name` the request carries ({@link headerSpellings}). */
function removeSpellings(
  view: CarrierView,
  name: string,
  headers: Map<string, string | null>,
): void {
  for (const spelling of headerSpellings(name))
    if (view.header(spelling) !== undefined) headers.set(spelling, null);
}
