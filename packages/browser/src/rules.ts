import { decide, readCookie, readQueryParam, rulePath } from '@graylane/core';
import type { GrayConfig, GrayRequest } from '@graylane/core';
import { hasPage } from './env.js';
import { fail, type GrayRules } from './options.js';
import { keyed } from './same-options.js';

/** Options of {@link rulesFromConfig}. */
export interface RulesFromConfigOptions {
  /** Caller attributes such as `userId`, matched by `attrs` conditions and `bucketBy: attr:…`. */
  readonly attributes?: (() => GrayRequest['attrs']) | undefined;
}

/**
 * Client-side rules from a parsed core config: core `decide` runs against the page (path, host,
 * query, cookies) with the anonymous id as attribute `anonymousId`, so a split can use
 * `bucketBy: "attr:anonymousId"`. Parsing a config costs bundle size (~6 KB gzip): use the
 * built-in `split` option when a percentage is all you need. A `config` that `parseConfig` did not
 * make throws `INVALID_OPTIONS`; `null` options are none.
 *
 * @example
 * ```ts
 * import { parseConfig } from '@graylane/core';
 * const config = parseConfig(doc);
 * initGray({ versions: config.versions, default: config.default, rules: rulesFromConfig(config) });
 * ```
 */
export function rulesFromConfig(
  config: GrayConfig,
  options: RulesFromConfigOptions = {},
): GrayRules {
  // A document, nothing or junk from plain JS: here, not as a rule that silently never matches.
  if (typeof config?.canonical != 'string') fail('rulesFromConfig config (parseConfig)');
  const rules: GrayRules = ({ anonymousId }) => {
    // The page is the request; without one (SSR) there is nothing to match.
    if (!hasPage()) return undefined;
    const attrs = options?.attributes?.();
    const request: GrayRequest = {
      method: 'GET',
      // As servers match it (core `hostOnly`): lower-case, without the port.
      host: location.hostname,
      // As servers match it (core `rulePath`): `/%61dmin` is `/admin`, as the rule loaded.
      path: rulePath(location.pathname),
      query: (name) => value(readQueryParam(location.search, name)),
      cookies: (name) => value(readCookie(document.cookie, name)),
      attrs: (name) => (name === 'anonymousId' ? anonymousId : pick(attrs, name)),
    };
    return decide(config, request);
  };
  // The same config makes equal options for a repeated initGray; `attributes` is read lazily.
  return keyed(rules, config.canonical);
}

function value(read: ReturnType<typeof readCookie>): string | undefined {
  return read.kind === 'value' ? read.value : undefined;
}

function pick(attrs: GrayRequest['attrs'], name: string): string | undefined {
  const v =
    typeof attrs === 'function'
      ? attrs(name)
      : attrs && Object.hasOwn(attrs, name)
        ? attrs[name]
        : undefined;
  return v === undefined || v === null ? undefined : String(v);
}
