import type { GrayConfig } from '../config/types.js';

/** Which carriers a config's rules read besides the marker (conditions and `bucketBy`). */
export interface CarrierNeeds {
  readonly cookies: boolean;
  readonly query: boolean;
}

const cache = new WeakMap<GrayConfig, CarrierNeeds>();

/**
 * Whether any rule reads cookies or query parameters, cached per config. When none does, only
 * the marker is ever read from those carriers, and one targeted scan is the request's one parse.
 */
export function carrierNeeds(config: GrayConfig): CarrierNeeds {
  let needs = cache.get(config);
  if (!needs) {
    let cookies = false;
    let query = false;
    for (const rule of config.rules) {
      for (const c of rule.conditions) {
        if (c.kind === 'cookie') cookies = true;
        else if (c.kind === 'query') query = true;
      }
      if (rule.kind === 'split') {
        // Every subject of a `bucketBy` chain may be the one hashed.
        for (const subject of rule.bucketChain) {
          if (subject.kind === 'cookie') cookies = true;
          else if (subject.kind === 'query') query = true;
        }
      }
    }
    needs = { cookies, query };
    cache.set(config, needs);
  }
  return needs;
}
