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
  /** Path without the query string. */
  readonly path: string | undefined;
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
  ) {
    let url: string | undefined;
    try {
      url = carrier.url;
    } catch {
      url = undefined; // I1: a broken carrier is a request without a URL.
    }
    if (typeof url !== 'string') url = undefined;
    this.url = url;
    const q = typeof url === 'string' ? url.indexOf('?') : -1;
    this.path = typeof url === 'string' ? (q === -1 ? url : url.slice(0, q)) : undefined;
    this.search = q === -1 || typeof url !== 'string' ? undefined : url.slice(q + 1);
  }

  /** A header, read from the carrier once per request. */
  header(name: string): string | readonly string[] | undefined {
    const seen = (this.headerValues ??= new Map());
    if (seen.has(name)) return seen.get(name);
    let value: string | readonly string[] | undefined;
    try {
      value = this.carrier.header(name);
    } catch {
      value = undefined; // I1: a carrier that throws has no such header.
    }
    seen.set(name, value);
    return value;
  }

  cookie(name: string): KeyRead {
    if (this.needs.cookies) {
      this.cookiePairs ??= parseCookiePairs(this.header('cookie'));
      return cookieRead(this.cookiePairs, name);
    }
    const k = this.cookieNames.indexOf(name);
    if (k === -1) return this.once(`c:${name}`, () => readCookie(this.header('cookie'), name));
    this.markerCookies ??= readCookies(this.header('cookie'), this.cookieNames);
    return this.markerCookies[k] as KeyRead;
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
