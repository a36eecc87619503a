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
 * assignment).
 */
export function grayRequest(
  view: CarrierView,
  attrs: GrayAttributes | undefined,
  now: number,
  subjectCookies: ReadonlySet<string> | undefined,
  minted: MintedSubjects,
  randomId: () => string,
): GrayRequest {
  const carrier = view.carrier;
  return {
    method: carrier.method,
    host: carrier.host,
    path: view.path,
    headers: carrier.headers,
    cookies: (name) => {
      const r = view.cookie(name);
      if (r.kind === 'value') return r.value;
      if (r.kind !== 'absent' || !subjectCookies?.has(name)) return undefined;
      let id = minted.get(name);
      if (id === undefined) {
        id = randomId();
        minted.set(name, id);
      }
      return id;
    },
    query: (name) => {
      const r = view.query(name);
      return r.kind === 'value' ? r.value : undefined;
    },
    // Read by the rules exactly as `decide(config, { attrs })` reads them (rules/lookup.ts): own
    // keys only, strings, finite numbers and booleans; NaN or Infinity is no subject (WT-05).
    attrs: typeof attrs === 'object' && attrs !== null ? attrs : undefined,
    now,
  };
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
