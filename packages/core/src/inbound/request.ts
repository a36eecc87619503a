import type { GrayConfig } from '../config/types.js';
import type { GrayRequest } from '../rules/types.js';
import type { GrayAttributes } from './types.js';
import type { CarrierView } from './view.js';

/** Subject ids minted for this request (cookie name → id), to be persisted as cookies. */
export type MintedSubjects = Map<string, string>;

/**
 * Builds the rule-evaluation view of a request. Cookies and query parameters come from the
 * request's {@link CarrierView}: parsed once, lazily, only when a rule asks (AMP-02). For `bucketBy: "cookie:NAME"` names in
 * `subjectCookies`, a missing cookie gets a fresh anonymous id from `randomId` (sticky
 * assignment). Nothing is read or made until a rule asks for it.
 */
export function grayRequest(
  view: CarrierView,
  attrs: GrayAttributes | undefined,
  now: number,
  subjectCookies: ReadonlySet<string> | undefined,
  minted: MintedSubjects,
  randomId: () => string,
): GrayRequest {
  // Read by the rules exactly as `decide(config, { attrs })` reads them (rules/lookup.ts): own
  // keys only, strings, finite numbers and booleans; NaN or Infinity is no subject (WT-05).
  const attributes = typeof attrs === 'object' && attrs !== null ? attrs : undefined;
  return new ViewRequest(view, attributes, now, subjectCookies, minted, randomId);
}

/**
 * The request as the rules see it. The request line and headers are read from the carrier when
 * a rule asks (the rules read each value once per decision); the cookie and query lookups are
 * made on first use.
 */
class ViewRequest implements GrayRequest {
  private cookieLookup: ((name: string) => string | undefined) | undefined = undefined;
  private queryLookup: ((name: string) => string | undefined) | undefined = undefined;

  constructor(
    private readonly view: CarrierView,
    readonly attrs: GrayAttributes | undefined,
    readonly now: number,
    private readonly subjects: ReadonlySet<string> | undefined,
    private readonly minted: MintedSubjects,
    private readonly randomId: () => string,
  ) {}

  get path(): string | undefined {
    return this.view.path;
  }
  get method(): string | undefined {
    return this.view.carrier.method;
  }
  get host(): string | undefined {
    return this.view.carrier.host;
  }
  get headers(): GrayRequest['headers'] {
    return this.view.carrier.headers;
  }
  /** Called unbound by the rules (`lookup(req.cookies, name)`): a closure, made once. */
  get cookies(): (name: string) => string | undefined {
    return (this.cookieLookup ??= (name) => {
      const r = this.view.cookie(name);
      if (r.kind === 'value') return r.value;
      if (r.kind !== 'absent' || !this.subjects?.has(name)) return undefined;
      let id = this.minted.get(name);
      if (id === undefined) {
        id = this.randomId();
        this.minted.set(name, id);
      }
      return id;
    });
  }
  get query(): (name: string) => string | undefined {
    return (this.queryLookup ??= (name) => {
      const r = this.view.query(name);
      return r.kind === 'value' ? r.value : undefined;
    });
  }
}

const splitCookieNames = new WeakMap<GrayConfig, ReadonlySet<string>>();

/** Cookie names a split's `bucketBy` (or chain) hashes, `cookie:NAME` (cached per config). */
export function subjectCookieNames(config: GrayConfig): ReadonlySet<string> {
  let names = splitCookieNames.get(config);
  if (!names) {
    const set = new Set<string>();
    for (const rule of config.rules) {
      if (rule.kind !== 'split') continue;
      // A chain (`["attr:userId", "cookie:gray_uid"]`) mints its anonymous cookie too.
      for (const subject of rule.bucketChain) if (subject.kind === 'cookie') set.add(subject.name);
    }
    names = set;
    splitCookieNames.set(config, names);
  }
  return names;
}
