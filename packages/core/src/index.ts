/**
 * @graylane/core — the pure decision engine: versions, markers, rules, bucketing, the
 * propagation allowlist and the config store. ES2022 only: no DOM, no Node APIs, no dependencies.
 */

export { GraylaneError, isGraylaneError } from './errors.js';
export type { ConfigIssue, GraylaneErrorCode } from './errors.js';

export {
  BACKOFF_INITIAL_MS,
  BACKOFF_JITTER,
  BACKOFF_MAX_MS,
  BAGGAGE_MAX_MEMBER_LENGTH,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_TOTAL_LENGTH,
  BUCKET_SPACE,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  MAX_COOKIE_HEADER_BYTES,
  MAX_COOKIE_MAX_AGE_SECONDS,
  MAX_COOKIE_PAIRS,
  MAX_QUERY_BYTES,
  MAX_QUERY_PARAMS,
  MIN_HMAC_KEY_BYTES,
  MAX_SIGNED_SUBJECT_LENGTH,
  MAX_RAW_MARKER_BYTES,
  MAX_REGEX_PATTERN_LENGTH,
  MAX_REGEX_DOCUMENT_SIZE,
  MAX_REGEX_PROGRAM_SIZE,
  MAX_REGEX_REFUSALS_CACHED,
  MAX_REGEX_SUBJECT_LENGTH,
  MAX_RULES,
  MAX_SIGNED_MARKER_BYTES,
  MAX_SUBJECT_LENGTH,
  MAX_VERSION_LENGTH,
  REGEX_STATE_BYTES_PER_INSTRUCTION,
} from './limits.js';

export {
  DECISION_REASONS,
  MARKER_REJECTIONS,
  MARKER_SOURCES,
  reasonForRejection,
} from './reasons.js';
export type { DecisionReason, MarkerRejection, MarkerSource } from './reasons.js';

export { VERSION_PATTERN, isVersionLabel } from './version.js';

export { isGrayConfig, parseConfig, validateConfig } from './config/parse.js';
export type { ParseConfigOptions, ValidationResult } from './config/parse.js';
/** @internal The config's RFC 3339 instant reader, for the CLI's `--at`. */
export { parseInstant } from './config/window.js';
export type {
  BucketBy,
  CompiledArm,
  CompiledRule,
  CompiledStep,
  ConfigDocument,
  GrayConfig,
  MatchDocument,
  MatcherDocument,
  MatcherOperator,
  RuleDocument,
  ScheduleStepDocument,
  SplitArmDocument,
  StickyPolicy,
  WindowDocument,
} from './config/types.js';

export { createRe2Engine } from './regex.js';
export type { Re2jsLike, RegexEngine, RegexPredicate } from './regex.js';

export { bucket } from './hash/bucket.js';

export { decide } from './rules/evaluate.js';
export type { DecideOptions, RuleOutcome, RuleTrace } from './rules/evaluate.js';
export { explain, formatExplanation } from './rules/explain.js';
export { armFor, describeArms, shareAt } from './rules/ramp.js';
export type { ShareInForce } from './rules/ramp.js';
export { BUCKET_HEADER, bucketHeaderValue } from './rules/bucket-header.js';
export type { Explanation } from './rules/explain.js';
export type {
  Decision,
  DecisionSource,
  GrayRequest,
  RejectedMarker,
  RequestLookup,
} from './rules/types.js';

export { parseMarker, trimOws } from './markers/parse.js';
export type { MarkerPolicy, MarkerResult } from './markers/parse.js';
export { readCookie, readCookies, removeCookies } from './markers/cookie.js';
export { readQueryParam, removeQueryParam } from './markers/query.js';
/** @internal For adapters editing a parsed query: a key a next hop reads as the name (GW-02). */
export { spellsKey } from './markers/key-spelling.js';
/** @internal For gateways rebuilding a request: a header's `-`/`_` spellings CGI-style readers fold together (GW-02). */
export { headerSpellings } from './inbound/header-spellings.js';
export {
  baggageMemberHeaders,
  readBaggageMember,
  removeBaggageMember,
  setBaggageMember,
  stripBaggageMember,
} from './markers/baggage.js';
export type { KeyRead } from './markers/read.js';

export { decodeBase64Url, encodeBase64Url } from './signed/base64url.js';
export { constantTimeEqual, utf8Encode } from './signed/bytes.js';
export { compileSigningKeys, signingKeyBytes } from './signed/keys.js';
export type { KeyMaterial, KeyRing } from './signed/keys.js';
export {
  KID_PATTERN,
  formatSignedToken,
  isSignableSubject,
  parseSignedToken,
  signedPayload,
} from './signed/token.js';
export type { ParsedSignedToken, SignedToken } from './signed/token.js';
export { finishSignedCheck, verifySignedToken } from './signed/verify.js';
export type {
  HmacSha256,
  SignedCheckOptions,
  SignedTokenResult,
  VerifySignedTokenOptions,
} from './signed/verify.js';
export { signToken } from './signed/sign.js';
export type { SignTokenInput } from './signed/sign.js';

export { createInboundEngine } from './inbound/engine.js';
export type {
  InboundCounters,
  InboundEngine,
  InboundOutcome,
  InboundPlatform,
  PreparedInbound,
  SignatureCheck,
} from './inbound/engine.js';
export { fromFetchRequest, hostOnly } from './inbound/carrier.js';
/** @internal For tooling (`graylane explain`): the path `path` rules match, as the engine reads it. */
export { rulePath } from './inbound/path.js';
/** @internal For `@graylane/node` and `graylane explain`: a request target as the routers read it. */
export { originForm, routerTarget } from './inbound/target.js';
export { applyQueryEdit } from './inbound/normalize.js';
export type { CarrierEdits, QueryEdit } from './inbound/normalize.js';
export { compileTrustedProxies, socketPeer, UNIX_PEER } from './inbound/peers.js';
export type { SocketLike } from './inbound/peers.js';
/** @internal For `@graylane/node`'s connection proof: an IP address as 16 bytes, any spelling. */
export { parseAddress as parseIpAddress } from './inbound/peers.js';
export type { PeerMatcher } from './inbound/peers.js';
export type { FetchRequestLike, InboundCarrier } from './inbound/carrier.js';
export { resolveInboundOptions } from './inbound/resolve.js';
export type { ResolvePlatform, ResolvedInbound, ResolvedSticky } from './inbound/resolve.js';
export type {
  GrayAttributes,
  InboundOptions,
  MarkerNames,
  StickyOptions,
  TrustMode,
} from './inbound/types.js';
export { formatSetCookie, isSafeCookieValue } from './inbound/cookies.js';
export {
  isTargetedCacheControl,
  privateCacheControl,
  privateHeaderFields,
  TARGETED_CACHE_CONTROL_FIELDS,
  targetedNoStore,
} from './inbound/cache-control.js';
export type { FetchHeadersLike } from './inbound/cache-control.js';
export type { PendingSignedCookie } from './inbound/sticky.js';
export { debugHeaderValue } from './inbound/debug.js';
export {
  DEBUG_HEADER,
  DEFAULT_HEADER,
  DEFAULT_MARKER_KEY,
  DEFAULT_SECURE_COOKIE,
  DEFAULT_SIGNED_TTL_SECONDS,
  DEFAULT_STICKY_MAX_AGE_SECONDS,
} from './inbound/defaults.js';
export { DEFAULT_MARKER_COOKIES, markerCookieNames } from './inbound/cookie-names.js';

export { createAllowlist, shouldPropagate } from './propagation/allowlist.js';
export type { AllowEntry, Allowlist, PropagationPolicy } from './propagation/allowlist.js';

export { createConfigStore, isConfigStore } from './store/store.js';
export type { ConfigStoreOptions } from './store/store.js';
export type {
  ConfigEvent,
  ConfigSnapshot,
  ConfigStore,
  Revision,
  RuleSource,
  SourceState,
  SourceStatus,
  UpdateMeta,
  UpdateResult,
} from './store/types.js';

export { METRIC_NAMES } from './metrics.js';
export { METER_NAME, METRIC_DESCRIPTIONS, metricOptions } from './metric-descriptions.js';
export type { MetricDescription, MetricName, MetricOptions } from './metric-descriptions.js';

export { createBackoff } from './sources/backoff.js';
export type { Backoff, BackoffOptions } from './sources/backoff.js';
export { systemClock } from './sources/clock.js';
export type { SourceClock, TimerHandle } from './sources/clock.js';
export { consoleLogger, safeLogger } from './sources/logger.js';
export type { SourceLogger } from './sources/logger.js';
export { createStatusTracker } from './sources/status.js';
export type { StatusTracker } from './sources/status.js';
export { sourceRuntime } from './sources/runtime.js';
/** @internal How sources tell `startSources` of a load attempt that offered the store no document. */
export { countReloads, hearFailedLoads, reportFailedLoad } from './sources/failed-load.js';
export type { ReloadResult } from './sources/failed-load.js';
/** @internal How `@graylane/node`'s and `@graylane/web`'s sources report a problem: one bounded, escaped line. */
export { describeError, oneLine } from './sources/describe.js';
export type { SourceOptions, SourceRuntime } from './sources/runtime.js';

// Status page: the report, its JSON Schema, the HTML page and the endpoint every platform drives.
export { createStatusModel } from './status/model.js';
export type { StatusModel, StatusModelOptions } from './status/model.js';
export { createStatusEndpoint } from './status/endpoint.js';
export type {
  StatusEndpoint,
  StatusEndpointOptions,
  StatusRequest,
  StatusResponse,
} from './status/endpoint.js';
export { statusRequestFromFetch } from './status/fetch.js';
export { renderStatusPage } from './status/html.js';
export type { RenderStatusOptions } from './status/html.js';
export { STATUS_PROXY_HEADERS, isLoopbackAddress } from './status/auth.js';
export { STATUS_REPORT_SCHEMA } from './status/schema.js';
export { scrubText } from './status/scrub.js';
export type {
  PropagationCoverage,
  ReloadChange,
  ReloadEntry,
  ReloadRejection,
  StatusConfig,
  StatusReport,
  StatusSourceItem,
  StatusSources,
  StatusSourcesLike,
  StatusStatsLike,
  StatusTraffic,
} from './status/types.js';
