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

const cache = new WeakMap<GrayConfig, WeakMap<readonly string[], CarrierNeeds>>();

/**
 * Whether any rule reads cookies or query parameters, cached per config and marker cookie names
 * (`markerCookies`). When none does, only the marker is ever read from those carriers, and one
 * targeted scan is the request's one parse.
 */
export function carrierNeeds(config: GrayConfig, markerCookies: readonly string[]): CarrierNeeds {
  let byNames = cache.get(config);
  if (!byNames) {
    byNames = new WeakMap();
    cache.set(config, byNames);
  }
  let needs = byNames.get(markerCookies);
  if (!needs) {
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
    needs = {
      cookies: cookies.size === 0 ? undefined : cookieNames([...cookies, ...markerCookies]),
      query,
    };
    byNames.set(markerCookies, needs);
  }
  return needs;
}
