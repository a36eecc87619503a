/**
 * @graylane/web — graylane for Web-standard runtimes (Cloudflare Workers, Vercel Edge, Deno,
 * Bun, Next.js): decide from a `Request` with `@graylane/core`'s engine and Web Crypto, write
 * the decision onto a `Response`, carry the lane on `fetch`, rules at the edge from KV or HTTP.
 * Zero Node imports; nothing happens on import. The hono middleware is `@graylane/web/hono`.
 */

// Inbound
export { createGraylane } from './inbound/engine.js';
export type {
  DecideContext,
  WebGraylane,
  WebGraylaneOptions,
  WebOutcome,
} from './inbound/engine.js';
export { editedHeaders } from './inbound/forward.js';
export type { CarrierNames } from './inbound/forward.js';
export { applyOutcome } from './response/apply.js';
export type { ResponseWrites } from './response/apply.js';

// Context
export { GrayLane, hasAsyncContext, provideAsyncLocalStorage } from './context/storage.js';
export type { AsyncLocalStorageCtor, AsyncLocalStorageLike, LaneKeep } from './context/storage.js';
export {
  createLane,
  getGrayDecision,
  getGrayVersion,
  runWithGray,
  tryGetGrayVersion,
} from './context/run.js';
export type { LaneOptions } from './context/run.js';

// Outbound
export { withGray } from './outbound/with-gray.js';
export type { FetchImplLike, FetchLike, WithGrayOptions } from './outbound/with-gray.js';

// Signed markers (Web Crypto)
export { signMarker, verifyMarker } from './signing/markers.js';
export type { SignMarkerOptions, VerifyMarkerOptions } from './signing/markers.js';

// Rules at the edge
export { createKvRules } from './sources/kv.js';
export type { KeyValueLike, KvRulesOptions } from './sources/kv.js';
export { createHttpRules } from './sources/http.js';
export type { HttpRulesOptions, RulesFetch } from './sources/http.js';
export type { EdgeSourceOptions } from './sources/refresher.js';
export type { EdgeRuleSource } from './sources/types.js';

// Observability
export { createStatusHandler } from './status.js';
export type { WebStatusHandler, WebStatusHandlerOptions } from './status.js';
export { outboundStats } from './metrics/outbound.js';
export type { OutboundResult } from './metrics/outbound.js';
export type { WebCounters, WebGraylaneStats } from './metrics/decisions.js';

// Limits and defaults
export { DEBUG_HEADER, DEFAULT_HEADER, DEFAULT_MARKER_KEY, MAX_REDIRECTS } from './limits.js';
