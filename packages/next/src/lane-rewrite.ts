import type { NextRequest } from 'next/server.js';
import { GrayLane, type WebOutcome } from '@graylane/web';

/** The proxy's `rewrite` option: a lane-specific route for the request, or undefined. */
export type LaneRewrite = (request: NextRequest, outcome: WebOutcome) => URL | string | undefined;

/**
 * @internal Where `rewrite` sends the request for `outcome`, resolved against the request's URL
 * as Next resolves a path. Undefined: served as requested — also when it throws or names no URL.
 */
export function rewriteOf(
  rewrite: LaneRewrite | undefined,
  request: NextRequest,
  outcome: WebOutcome,
): URL | undefined {
  if (rewrite === undefined) return undefined;
  try {
    const to = rewrite(request, outcome);
    return to === undefined ? undefined : new URL(to, request.nextUrl);
  } catch {
    return undefined;
  }
}

/**
 * @internal Whether what is served under this URL may depend on the lane through `rewrite`
 * (STK-06): it sends this request elsewhere (`chosen`: a target, whatever the lane — the same
 * one for every version too, as its page may read the lane), or would for another of
 * `versions`. The second half is why a stable visitor's page is lane-specific too when only beta
 * is rewritten: a shared cache that stored it would serve stable to beta visitors. The proxy
 * cannot read the function, only call it: once per other version, with the decision and its
 * lane set to that version. What the function reads besides the version (the marker's source, a
 * header) is not varied: such a rewrite is caught where it rewrites, not where it does not.
 * Never throws (an error means "no rewrite", as for the request's own call).
 */
export function rewritesByLane(
  rewrite: LaneRewrite | undefined,
  request: NextRequest,
  outcome: WebOutcome,
  chosen: URL | undefined,
  versions: readonly string[],
): boolean {
  if (rewrite === undefined) return false;
  if (chosen !== undefined) return true;
  const { decision, lane } = outcome;
  for (const version of versions) {
    if (version === decision.version) continue;
    const as = { ...decision, version };
    const probe: WebOutcome = {
      ...outcome,
      decision: as,
      lane: new GrayLane(as, lane.allow, lane.header, lane.baggageKey, lane.keep),
    };
    if (rewriteOf(rewrite, request, probe) !== undefined) return true;
  }
  return false;
}
