import type { Allowlist } from '@graylane/core';
import { currentStore, type GrayStore } from '../context/storage.js';
import { applyHop, clientRequestOps, type ClientRequestLike } from './hop-headers.js';
import { judgeHop, planCall } from './plan.js';

export type { ClientRequestLike } from './hop-headers.js';

/** A `ClientRequest` as Node builds it: the head is rendered by `_implicitHeader`. */
interface HeadLike extends ClientRequestLike {
  _implicitHeader?: unknown;
}

/**
 * @internal Judges one `http`/`https` request (one hop: clients that follow redirects, such as
 * follow-redirects under axios, call `http.request` once per hop), in the context of the code
 * that created it, on the headers and the path it is sent with:
 * - right before Node renders the head (`_implicitHeader`, which the first `write`, `end` and
 *   `flushHeaders` call, Node 20–24), so headers a client sets after `http.request()` returns
 *   are judged too (superagent sets every header that way, and copies the previous hop's on a
 *   redirect), and so is a path an agent rewrote (a forward proxy, see http-target.ts). A marker
 *   present then is the caller's (graylane has added nothing yet);
 * - at once where Node has no such step (a request-like object that is not Node's).
 * Runs after every wrapper below it, OpenTelemetry's included, so what they added is judged too
 * (OTB-01). A head rendered again (http-proxy-agent re-renders it after rewriting the path) is
 * judged again, counted once. Never throws.
 */
export function injectClientRequest(
  req: ClientRequestLike,
  target: () => string | readonly string[] | undefined,
  allow: Allowlist | undefined,
): void {
  try {
    // Array-form `headers` options (and `Expect`) render the head in the constructor: nothing
    // can be changed then.
    if (req.headersSent) return;
    const store = currentStore();
    if (store === undefined) return;
    const head = req as HeadLike;
    const render = head._implicitHeader;
    if (typeof render !== 'function') return judge(req, target, allow, store, true);
    let judged = 0;
    head._implicitHeader = function graylaneImplicitHeader(this: unknown, ...args: unknown[]) {
      judge(req, target, allow, store, judged++ === 0);
      return (render as (...a: unknown[]) => unknown).apply(this, args);
    };
  } catch {
    // I1: the request proceeds untouched.
  }
}

function judge(
  req: ClientRequestLike,
  target: () => string | readonly string[] | undefined,
  allow: Allowlist | undefined,
  store: GrayStore,
  count: boolean,
): void {
  try {
    if (req.headersSent) return;
    const plan = planCall(
      allow,
      { has: (name) => req.getHeader(name) !== undefined },
      store,
      count,
    );
    if (plan) applyHop(plan, judgeHop(plan, target(), count), clientRequestOps(req));
  } catch {
    // I1: the request proceeds as the client built it.
  }
}
