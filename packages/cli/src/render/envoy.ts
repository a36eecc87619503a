import {
  splitNotes,
  weightedClusters,
  type EnvoySplit,
  type EnvoyWeightedClusters,
} from './envoy-split.js';
import { cookieOtherThan, cookiePair, cookiePresent, cookieTwice } from './envoy-cookie.js';
import { generatedBy, markerValue, precedenceNote, upstreamName, type RenderPlan } from './plan.js';
import { toYaml } from './yaml.js';

/** One Envoy v3 header matcher (the subset this renderer emits). */
export interface EnvoyHeaderMatcher {
  readonly name: string;
  readonly string_match:
    { readonly exact: string } | { readonly safe_regex: { readonly regex: string } };
  readonly invert_match?: boolean;
}

/** One Envoy v3 route (the subset this renderer emits). */
export interface EnvoyRoute {
  readonly match: { readonly prefix: string; readonly headers?: readonly EnvoyHeaderMatcher[] };
  readonly route:
    { readonly cluster: string } | { readonly weighted_clusters: EnvoyWeightedClusters };
  readonly request_headers_to_add?: readonly {
    readonly header: { readonly key: string; readonly value: string };
    readonly append_action: 'OVERWRITE_IF_EXISTS_OR_ADD';
  }[];
  readonly request_headers_to_remove?: readonly string[];
}

/** The rendered Envoy `route_config` (RE2 `safe_regex`, whole-value matches). */
export interface EnvoyRouteConfig {
  readonly route_config: {
    readonly name: string;
    readonly virtual_hosts: readonly {
      readonly name: string;
      readonly domains: readonly string[];
      readonly routes: readonly EnvoyRoute[];
    }[];
  };
}

/**
 * Builds the Envoy routes: the header first, then each cookie in order (unless it is ambiguous,
 * or a cookie before it is present), else the default. In `open` trust every route overwrites the marker header with the
 * lane it routes to; in `signed` trust a header token is forwarded as is and anything else is
 * removed (the upstream reads and verifies the cookie itself).
 */
export function envoyRouteConfig(plan: RenderPlan, split?: EnvoySplit): EnvoyRouteConfig {
  const { config, trust } = plan;
  const header = plan.header.toLowerCase();
  const value = (v: string): string =>
    markerValue({ ...plan, config: { ...config, versions: [v] } });
  const forward = (
    v: string,
  ): Pick<EnvoyRoute, 'request_headers_to_add' | 'request_headers_to_remove'> =>
    trust === 'open'
      ? {
          request_headers_to_add: [
            { header: { key: header, value: v }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          ],
        }
      : { request_headers_to_remove: [header] };
  const routes: EnvoyRoute[] = [];
  for (const v of config.versions) {
    routes.push({
      match: {
        prefix: '/',
        headers: [
          {
            name: header,
            string_match: trust === 'open' ? { exact: v } : { safe_regex: { regex: value(v) } },
          },
        ],
      },
      route: { cluster: upstreamName(v) },
      ...(trust === 'open' ? forward(v) : {}),
    });
  }
  const unless = (regex: string): EnvoyHeaderMatcher => ({
    name: 'cookie',
    string_match: { safe_regex: { regex } },
    invert_match: true,
  });
  plan.cookies.forEach((cookie, i) => {
    for (const v of config.versions) {
      routes.push({
        match: {
          prefix: '/',
          headers: [
            {
              name: 'cookie',
              string_match: { safe_regex: { regex: cookiePair(cookie, value(v)) } },
            },
            // Any other value of the same name is ambiguous (CK-02). Labels are a finite set, so
            // "another value" is a regex; tokens are not, so any second pair counts (stricter).
            unless(trust === 'open' ? cookieOtherThan(cookie, v) : cookieTwice(cookie)),
            // A cookie earlier in precedence that is present at all, even invalid or ambiguous,
            // means this one is not read (core's firstCookie, issue 15, CK-02).
            ...plan.cookies.slice(0, i).map((earlier) => unless(cookiePresent(earlier))),
          ],
        },
        route: { cluster: upstreamName(v) },
        ...forward(v),
      });
    }
  });
  routes.push(
    split
      ? {
          match: { prefix: '/' },
          route: {
            weighted_clusters: weightedClusters(split, (v) => forward(v).request_headers_to_add),
          },
          ...(trust === 'open' ? {} : forward(config.default)),
        }
      : {
          match: { prefix: '/' },
          route: { cluster: upstreamName(config.default) },
          ...forward(config.default),
        },
  );
  return {
    route_config: {
      name: 'graylane',
      virtual_hosts: [{ name: 'app', domains: ['*'], routes }],
    },
  };
}

/** The Envoy snippet as YAML (or JSON), with a header comment. */
export function renderEnvoy(plan: RenderPlan, format: 'yaml' | 'json', split?: EnvoySplit): string {
  const routeConfig = envoyRouteConfig(plan, split);
  if (format === 'json') return JSON.stringify(routeConfig, null, 2);
  const known = [...plan.upstreams].map(([v, a]) => `#   ${upstreamName(v)} → ${a}`);
  return [
    `# ${generatedBy(plan, 'envoy')} (config ${plan.config.hash}, trust ${plan.trust}). Envoy route_config; clusters not shown.`,
    ...precedenceNote(plan),
    ...(split ? splitNotes(split) : []),
    `# Istio: the same header/cookie matches go into a VirtualService's http[].match[].headers.`,
    toYaml(routeConfig),
    ...(known.length ? ['# Upstreams:', ...known] : []),
  ].join('\n');
}
