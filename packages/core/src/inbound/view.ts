import { readBaggageMember } from '../markers/baggage.js';
import {
  cookieRead,
  parseCookiePairs,
  readCookie,
  readCookies,
  type CookiePairs,
} from '../markers/cookie.js';
import { parseQueryPairs, queryRead, readQueryParam, type QueryPairs } from '../markers/query.js';
import type { KeyRead } from '../markers/read.js';
import type { InboundCarrier } from './carrier.js';
import type { CarrierNeeds } from './needs.js';
import { rulePath } from './path.js';

/**
 * The carrier reads the engine's fast paths make before any view exists, handed to the view of
 * the same request so that no carrier is read twice (AMP-02).
 */
export interface KnownReads {
  readonly url: string | undefined;
  /** The marker header's (lower-case) name, and the values of it, `cookie` and `baggage`. */
  readonly markerHeader: string;
  readonly marker: string | readonly string[] | undefined;
  readonly cookie: string | readonly string[] | undefined;
  readonly baggage: string | readonly string[] | undefined;
  /**
   * The Jaeger and OT member headers (`uberctx-gray`, `ot-baggage-gray`), by name, when the fast
   * path read them (`members` undefined when it did not).
   */
  readonly memberNames: readonly [string, string];
  readonly members:
    | readonly [string | readonly string[] | undefined, string | readonly string[] | undefined]
    | undefined;
  /**
   * The other spellings of the marker and member header names (`x_gray_id`), and their values in
   * the same order when the fast path read them (`spelled` undefined when it did not).
   */
  readonly spellingNames?: readonly string[];
  readonly spelled?: readonly (string | readonly string[] | undefined)[] | undefined;
}

/** The request target, or undefined when the carrier has none or its getter throws (I1). */
export function readUrl(carrier: InboundCarrier): string | undefined {
  let url: unknown;
  try {
    url = carrier.url;
  } catch {
    return undefined; // I1: a broken carrier is a request without a URL.
  }
  return typeof url === 'string' ? url : undefined;
}

/** One header as the carrier gives it; a carrier that throws has no such header (I1). */
export function readHeader(
  carrier: InboundCarrier,
  name: string,
): string | readonly string[] | undefined {
  try {
    return carrier.header(name);
  } catch {
    return undefined;
  }
}

/**
 * One request's carriers, each parsed at most once and only when first asked (AMP-02): marker
 * extraction and every rule condition on cookies or query parameters share one parse, whatever
 * the number of conditions. When no rule reads a carrier, the one parse is a targeted scan for
 * the marker that decodes nothing else. Every parse is bounded by core's caps (16 KiB and 180
 * pairs of cookies, 8 KiB and 256 parameters of query, 180 entries and 8192 bytes of baggage).
 */
export class CarrierView {
  /** The request target as the carrier gave it (read once). */
  readonly url: string | undefined;
  /** {@link path}, made on first read. */
  private matchPath: string | undefined;
  /** Path without the query string, as the carrier gave it. */
  private readonly rawPath: string | undefined;
  /** The query string without `?`. */
  readonly search: string | undefined;
  private cookiePairs: CookiePairs | 'too_long' | undefined;
  private markerCookies: KeyRead[] | undefined;
  private queryPairs: QueryPairs | 'too_long' | undefined;
  // Made on first use: most requests read a header or two and no single-key carrier twice.
  private single: Map<string, KeyRead> | undefined;
  private headerValues: Map<string, string | readonly string[] | undefined> | undefined;

  constructor(
    readonly carrier: InboundCarrier,
    private readonly needs: CarrierNeeds,
    /** The marker cookie names, read together in one scan when no rule reads cookies. */
    private readonly cookieNames: readonly string[],
    /** What the caller already read from the carrier: those reads are not repeated (AMP-02). */
    private readonly known?: KnownReads,
  ) {
    const url = known ? known.url : readUrl(carrier);
    this.url = url;
    const q = typeof url === 'string' ? url.indexOf('?') : -1;
    this.rawPath = typeof url === 'string' ? (q === -1 ? url : url.slice(0, q)) : undefined;
    this.search = q === -1 || typeof url !== 'string' ? undefined : url.slice(q + 1);
  }

  /** Path without the query string, as the rules match it ({@link rulePath}). */
  get path(): string | undefined {
    if (this.rawPath === undefined) return undefined;
    return (this.matchPath ??= rulePath(this.rawPath));
  }

  /** A header, read from the carrier once per request. */
  header(name: string): string | readonly string[] | undefined {
    const k = this.known;
    if (k !== undefined) {
      if (name === k.markerHeader) return k.marker;
      if (name === 'cookie') return k.cookie;
      if (name === 'baggage') return k.baggage;
      const m = k.members;
      if (m !== undefined) {
        if (name === k.memberNames[0]) return m[0];
        if (name === k.memberNames[1]) return m[1];
      }
      const s = k.spelled;
      if (s !== undefined && k.spellingNames !== undefined) {
        const i = k.spellingNames.indexOf(name);
        if (i !== -1) return s[i];
      }
    }
    const seen = (this.headerValues ??= new Map());
    if (seen.has(name)) return seen.get(name);
    const value = readHeader(this.carrier, name);
    seen.set(name, value);
    return value;
  }

  cookie(name: string): KeyRead {
    // The names the rules and the marker read share one parse; any other (an `attributes`
    // callback's) is read on its own.
    const only = this.needs.cookies;
    if (only !== undefined && only.names.has(name)) {
      this.cookiePairs ??= parseCookiePairs(this.header('cookie'), only);
      return cookieRead(this.cookiePairs, name);
    }
    const k = this.cookieNames.indexOf(name);
    if (k === -1) return this.once(`c:${name}`, () => readCookie(this.header('cookie'), name));
    this.markerCookies ??= readCookies(this.header('cookie'), this.cookieNames);
    return this.markerCookies[k] as KeyRead;
  }

  /**
   * The read of marker cookie `name` when this request's one cookie parse already made it, else
   * undefined (nothing is parsed here): `carrierEdits` learns from it which names are on no pair.
   */
  parsedCookie(name: string): KeyRead | undefined {
    const only = this.needs.cookies;
    if (only !== undefined && only.names.has(name))
      return this.cookiePairs === undefined ? undefined : cookieRead(this.cookiePairs, name);
    const k = this.cookieNames.indexOf(name);
    return k === -1 ? undefined : this.markerCookies?.[k];
  }

  query(name: string): KeyRead {
    if (this.needs.query) {
      this.queryPairs ??= parseQueryPairs(this.search);
      return queryRead(this.queryPairs, name);
    }
    return this.once(`q:${name}`, () => readQueryParam(this.search, name));
  }

  /** Only the marker key is ever read from baggage (rules have no baggage conditions). */
  baggage(key: string): KeyRead {
    return this.once(`b:${key}`, () => readBaggageMember(this.header('baggage'), key));
  }

  private once(key: string, read: () => KeyRead): KeyRead {
    const single = (this.single ??= new Map());
    let r = single.get(key);
    if (r === undefined) {
      r = read();
      single.set(key, r);
    }
    return r;
  }
}
