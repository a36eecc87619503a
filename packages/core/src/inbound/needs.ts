import type { GrayConfig } from '../config/types.js';
import { cookieNames, type CookieNames } from '../markers/cookie.js';

/** Which carriers a config's rules read besides the marker (conditions and `bucketBy`). */
export interface CarrierNeeds {
  /**
   * The cookie names read when a rule reads cookies: the rules' and the marker's, parsed
   * together once per request ({@link CarrierView}); undefined when no rule reads cookies.
   */
  readonly cookies: CookieNames | undefined;
  readonly query: boolean;
}

/**
 * Whether any rule reads cookies or query parameters, and the cookie names read then (the rules'
 * and `markerCookies`). When none does, only the marker is ever read from those carriers, and one
 * targeted scan is the request's one parse. Worked out once per config by the engine.
 */
export function carrierNeeds(config: GrayConfig, markerCookies: readonly string[]): CarrierNeeds {
  const cookies = new Set<string>();
  let query = false;
  for (const rule of config.rules) {
    for (const c of rule.conditions) {
      if (c.kind === 'cookie' && c.name !== undefined) cookies.add(c.name);
      else if (c.kind === 'query') query = true;
    }
    if (rule.kind === 'split') {
      // Every subject of a `bucketBy` chain may be the one hashed.
      for (const subject of rule.bucketChain) {
        if (subject.kind === 'cookie') cookies.add(subject.name);
        else if (subject.kind === 'query') query = true;
      }
    }
  }
  return {
    cookies: cookies.size === 0 ? undefined : cookieNames([...cookies, ...markerCookies]),
    query,
  };
}
