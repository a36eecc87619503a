import type { Allowlist } from '@graylane/core';
import { applyHop, clientRequestOps, type ClientRequestLike } from './hop-headers.js';
import { judgeHop, planCall } from './plan.js';

export type { ClientRequestLike } from './hop-headers.js';

/**
 * @internal Judges one `http`/`https` request (one hop: clients that follow redirects, such as
 * follow-redirects under axios, call `http.request` once per hop). Runs after every wrapper
 * below it, OpenTelemetry's included, so what they added is judged too (OTB-01). Never throws.
 */
export function injectClientRequest(
  req: ClientRequestLike,
  target: string | readonly string[] | undefined,
  allow: Allowlist | undefined,
): void {
  try {
    // Array-form `headers` options flush the head in the constructor: nothing can be changed then.
    if (req.headersSent) return;
    const plan = planCall(allow, { has: (name) => req.getHeader(name) !== undefined });
    if (plan) applyHop(plan, judgeHop(plan, target), clientRequestOps(req));
  } catch {
    // I1: the request proceeds untouched.
  }
}
