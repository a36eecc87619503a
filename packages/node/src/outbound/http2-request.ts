import type { Allowlist } from '@graylane/core';
import { currentStore, type GrayStore } from '../context/storage.js';
import { countOutbound } from '../metrics/stats.js';
import { takeGrpcToken } from './http2-grpc.js';
import { http2HeaderView } from './http2-headers.js';
import { http2Target } from './http2-target.js';
import { applyHop, cleanHop, type HeaderOps } from './hop-headers.js';
import { judgeBare, judgeHop, planCall } from './plan.js';
import { http2State } from './state.js';

/** The token grpc-js puts in every request's `user-agent` (1.x: `grpc-node-js/<version>`). */
const GRPC_JS_AGENT = 'grpc-node-js/';

type RequestFn = (this: unknown, ...args: unknown[]) => unknown;

/**
 * @internal One `ClientHttp2Session.request(headers, options)` call under `installGlobal`,
 * judged in the context of the code that calls it, on what is sent (see {@link judgeHttp2}); the
 * stream it returns is announced to coverage. `inEvent`: the call is made while an HTTP/2 client
 * session is emitting an event (http2.ts). Never throws what `request` would not.
 */
export function judgedRequest(
  session: unknown,
  args: unknown[],
  request: RequestFn,
  allow: Allowlist | undefined,
  inEvent: boolean,
): unknown {
  const judged = judgeHttp2(session, args[0], allow, inEvent);
  const h2 = http2State();
  const previous = h2.calling;
  const calling = { store: judged?.store ?? currentStore() };
  h2.calling = calling;
  let stream: unknown;
  try {
    stream =
      judged?.headers === undefined
        ? request.apply(session, args)
        : request.call(session, judged.headers, ...args.slice(1));
  } finally {
    h2.calling = previous;
  }
  announce(stream, calling.store);
  return stream;
}

function announce(stream: unknown, store: GrayStore | undefined): void {
  if (typeof stream !== 'object' || stream === null) return;
  for (const listener of http2State().onRequest) {
    try {
      listener(stream, store);
    } catch {
      // I1: a listener never breaks the request.
    }
  }
}

/**
 * The decision for one request, on a copy of its headers (the caller's are never touched):
 * - the lane is the one current where `request()` is called — a request queued by a client and
 *   started later may be started from another request's context, so that context is trusted to
 *   add a marker only when it is proven the caller's (I7): not for a call made while an HTTP/2
 *   client session emits an event (the session's context: http2-wrapper, which got uses, starts
 *   the requests waiting for a session from its `remoteSettings`), not for a grpc-js request
 *   (grpc-js starts calls queued while its channel connects from the context of the call that
 *   connected it) unless `grayGrpcInterceptor` tagged it with its caller's lane;
 * - judged on every origin the request reaches or names (http2-target.ts): allowlisted, the
 *   marker and one `gray` member, as for http (a marker the caller set is kept there); otherwise
 *   neither, whoever set them (I8, OTB-01). Unproven: removal only (`applyHop`'s `add`);
 * - with no lane, a target outside installGlobal's own `allowHosts` loses any marker (`cleanHop`).
 * Returns the headers to send (undefined: the caller's, untouched) and the lane judged with.
 */
function judgeHttp2(
  session: unknown,
  headers: unknown,
  allow: Allowlist | undefined,
  inEvent: boolean,
): { headers: unknown; store: GrayStore | undefined } | undefined {
  try {
    const view = http2HeaderView(headers);
    if (view === undefined) return undefined;
    const { ops } = view;
    const token = takeGrpcToken(ops);
    const grpc = token.found || isGrpcJs(ops);
    const proven = token.found || (!inEvent && !grpc);
    const store = token.found ? token.store : currentStore();
    const target = () => http2Target(session, ops, grpc);
    if (store === undefined) {
      if (allow !== undefined) cleanHop(ops, () => judgeBare(allow, target()));
    } else {
      const plan = planCall(allow, { has: (name) => ops.values(name).length > 0 }, store);
      if (plan) {
        const allowed = judgeHop(plan, target(), proven);
        if (!proven && !plan.callerOwns)
          countOutbound(allowed ? 'skipped_context' : 'skipped_host');
        applyHop(plan, allowed, ops, proven);
      }
    }
    return {
      headers: view.changed() ? view.result() : undefined,
      store: proven ? store : undefined,
    };
  } catch {
    return undefined;
  }
}

function isGrpcJs(ops: HeaderOps): boolean {
  return ops.values('user-agent').some((v) => v.includes(GRPC_JS_AGENT));
}
