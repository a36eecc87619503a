import {
  createInboundEngine,
  type InboundCarrier,
  type InboundOptions,
  type InboundOutcome as CoreOutcome,
  type ResolvedInbound,
  type TrustMode,
} from '@graylane/core';
import { installRequestListenerWrappers } from '../context/emitters.js';
import { GrayStore } from '../context/storage.js';
import { DecisionCounters, rememberDeclaringStore, type GraylaneStats } from '../metrics/stats.js';
import { installHeadGuard } from './node-response.js';
import { nodePlatform } from './platform.js';

/** What the engine decided for one request, plus the context to bind around the handler. */
export interface InboundOutcome extends CoreOutcome {
  readonly store: GrayStore;
}

/** Core's inbound engine with Node's platform, counters and per-request context. */
export interface InboundEngine<R> {
  readonly options: ResolvedInbound<R>;
  /** Decides, counts and reports one request. Never throws (I1). */
  evaluate(carrier: InboundCarrier, req: R): InboundOutcome;
  /** The trust this engine would decide `carrier` under (`open` for a trusted edge peer). */
  trustFor(carrier: InboundCarrier): TrustMode;
  stats(): GraylaneStats;
}

/**
 * @internal Builds the engine; throws only on bad options or config (construction time).
 * `setsCookies: false` for a server whose responses carry no cookies (gRPC).
 */
export function createEngine<R>(options: InboundOptions<R>, setsCookies = true): InboundEngine<R> {
  // Now, not on the first request, for every adapter: a library that binds each request's
  // emitters to its own context captures the listener methods it finds on the request (CTX-05).
  installRequestListenerWrappers();
  // Now too: a hook that wraps each response's `writeHead` (on-headers) wraps graylane's (STK-06).
  if (setsCookies) installHeadGuard();
  const counters = new DecisionCounters();
  const engine = createInboundEngine(options, { ...nodePlatform(counters), setsCookies });
  const opts = engine.options;
  rememberDeclaringStore(opts.store);
  return {
    options: opts,
    evaluate(carrier, req) {
      const o = engine.evaluate(carrier, req);
      // Spelled out, not spread: this runs once per request.
      return {
        decision: o.decision,
        setCookies: o.setCookies,
        pendingCookies: o.pendingCookies,
        debugHeader: o.debugHeader,
        edits: o.edits,
        trust: o.trust,
        store: new GrayStore(o.decision, opts.allow, opts.header, opts.baggage),
      };
    },
    trustFor(carrier) {
      if (opts.trust !== 'edge') return opts.trust;
      try {
        return opts.isTrustedProxy(carrier.remoteAddress) ? 'open' : 'edge';
      } catch {
        return 'edge';
      }
    },
    stats: () => counters.snapshot(),
  };
}
