import type { GrayConfig } from '@graylane/core';

/** What `render` needs to know, resolved from the config and the options. */
export interface RenderPlan {
  readonly config: GrayConfig;
  /** The marker header, e.g. `X-Gray-Id`. */
  readonly header: string;
  /** Cookie names in precedence order: `__Host-gray` (what the browser writes on https), then `gray`. */
  readonly cookies: readonly string[];
  /**
   * `open`: a marker is a version label, exactly. `signed`: a marker is a signed token
   * (`<version>.<exp>.<kid>.<sig>`); the gateway routes on its version part (it cannot verify
   * it) and forwards the token for the upstream to verify.
   */
  readonly trust: 'open' | 'signed';
  readonly upstreams: ReadonlyMap<string, string>;
  readonly listen: string;
  /** The config's location, as printed in the header comment. */
  readonly source: string;
}

/** The cookie names read for a base name: the `__Host-` form first, then the plain one. */
export function cookieNames(base: string): readonly string[] {
  return base.startsWith('__Host-') || base.startsWith('__Secure-')
    ? [base]
    : [`__Host-${base}`, base];
}

/** `stable|beta`: the declared versions as a regex alternation (labels need no escaping). */
export function labels(plan: RenderPlan): string {
  return plan.config.versions.join('|');
}

/**
 * The regex (no anchors, no captures) of one valid marker value under the plan's trust mode.
 * Signed tokens follow core's format: expiry ≤ 12 digits, key id `[A-Za-z0-9_-]{1,32}`, a
 * 43-character base64url HMAC-SHA256.
 */
export function markerValue(plan: RenderPlan): string {
  const v = `(?:${labels(plan)})`;
  return plan.trust === 'open'
    ? v
    : `${v}\\.(?:0|[1-9][0-9]{0,11})\\.[A-Za-z0-9_-]{1,32}\\.[A-Za-z0-9_-]{43}`;
}

/** Cluster / upstream name of a version. */
export function upstreamName(version: string): string {
  return `graylane_${version.replace(/-/g, '_')}`;
}

/** One line saying how markers are read, for the generated file's header. */
export function precedenceNote(plan: RenderPlan): string[] {
  const order = [plan.header, ...plan.cookies.map((c) => `the ${c} cookie`)].join(', then ');
  return [
    `# Marker precedence, as graylane reads it: ${order}, else the default version.`,
    plan.trust === 'open'
      ? '# open trust: a marker is a version label, exactly (case-sensitive); anything else is ignored,'
      : '# signed trust: a marker is a signed token; it is routed on its version part (not verified here)',
    plan.trust === 'open'
      ? '# and the upstream always receives the lane it was routed to, never the raw client value.'
      : '# and forwarded unchanged for the upstream to verify; anything else is removed, never forwarded.',
  ];
}
