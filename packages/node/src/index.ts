/**
 * @graylane/node — decide at the edge, bind per request, carry the marker to every outbound call.
 * Framework adapters are subpath exports (`/express`, `/koa`, `/fastify`, `/hono`); rule sources
 * are `/sources`. Nothing happens on import.
 */

// Inbound
export { createGraylane, graylane } from './inbound/graylane.js';
export type { Graylane, NextFunction } from './inbound/graylane.js';
export type { IncomingMessageLike } from './inbound/carrier.js';
export { createGraylaneGrpc, grayGrpcService } from './inbound/grpc.js';
export type {
  GraylaneGrpc,
  GraylaneGrpcOptions,
  GrpcInterceptingLike,
  GrpcNextCallLike,
  GrpcResponderLike,
  GrpcResponseMetadataLike,
  GrpcServerInterceptor,
  GrpcServerListenerLike,
  GrpcServerModuleLike,
} from './inbound/grpc.js';
export type { GrpcServerCallLike, GrpcServerMetadataLike } from './inbound/grpc-carrier.js';
export type {
  GrayAttributes,
  GraylaneOptions,
  MarkerNames,
  StickyOptions,
  TrustMode,
} from './options.js';
export { nodeRegexEngine } from './config/store.js';

// Context
export {
  getGrayDecision,
  getGrayVersion,
  tryGetGrayLane,
  tryGetGrayVersion,
} from './context/accessors.js';
export { bindGray, runWithGray } from './context/run.js';
export type { RunWithGrayOptions } from './context/run.js';

// Branching and lane fallback
export { grayBranch } from './context/branch.js';
export type { GrayBranches, GrayBranchOptions } from './context/branch.js';
export { grayHandlers } from './context/handlers.js';
export type { GrayHandlersOptions } from './context/handlers.js';
export { defineLanes } from './context/lanes.js';
export type { LanePolicy, LaneTable, LaneTableOptions } from './context/lanes.js';
export { GrayLaneUnavailableError } from './context/unavailable.js';
export { ignoredContextStats } from './context/ignored.js';
export type { IgnoredContextStats } from './context/ignored.js';

// Outbound
export { withGray } from './outbound/fetch.js';
export type { FetchImplLike, FetchLike } from './outbound/fetch.js';
export { grayInterceptor } from './outbound/undici.js';
export type { DispatchLike, DispatchOptionsLike } from './outbound/undici.js';
export type { UndiciHeaders } from './outbound/header-list.js';
export { installGlobal } from './outbound/global.js';
export type { InstallGlobalOptions } from './outbound/global.js';
export { grayGrpcInterceptor } from './outbound/http2-grpc.js';
export type {
  GrpcListenerLike,
  GrpcMetadataLike,
  GrpcModuleLike,
  GrpcRequesterLike,
} from './outbound/http2-grpc.js';
export { attachGray } from './outbound/axios.js';
export type { AxiosConfigLike, AxiosLike } from './outbound/axios.js';
export type { OutboundOptions } from './outbound/options.js';

// Propagation coverage
export { installCoverage } from './coverage/install.js';
export type { CoverageOptions } from './coverage/install.js';
export { coverageStats } from './coverage/stats.js';
export type { CoverageStats } from './coverage/stats.js';

// Signed markers
export { signMarker } from './signing/sign.js';
export type { SignMarkerOptions } from './signing/sign.js';
export { compileKeyRing, verifyMarker } from './signing/verify.js';
export type { CompiledKeys, VerifyMarkerOptions, VerifyResult } from './signing/verify.js';
export type { KeyMaterial, KeyRing } from './signing/keys.js';

// Observability
export { outboundStats } from './metrics/stats.js';
export type { GraylaneStats, OutboundResult } from './metrics/stats.js';

// Limits and defaults
export {
  DEBUG_HEADER,
  DEFAULT_HEADER,
  DEFAULT_MARKER_KEY,
  DEFAULT_SIGNED_TTL_SECONDS,
  DEFAULT_STICKY_MAX_AGE_SECONDS,
  MIN_HMAC_KEY_BYTES,
} from './limits.js';
