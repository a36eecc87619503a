/**
 * Defaults and hard limits of message lanes, each with where it comes from. Message carriers are
 * client input (I1–I4): every value is bounded before it is decoded or parsed.
 */

/** The marker header on a message: the same name as the HTTP header (DESIGN.md "Defaults"). */
export const DEFAULT_MESSAGE_HEADER = 'x-gray-id';
/** The W3C baggage member written beside the header when OpenTelemetry is active. */
export const DEFAULT_BAGGAGE_KEY = 'gray';
/** The header that carries W3C baggage on a message (OTel messaging semantic conventions). */
export const BAGGAGE_HEADER = 'baggage';
/**
 * The BullMQ job-data field that carries the marker. Job options are a closed, compressed set in
 * BullMQ (unknown keys are dropped), so the marker rides in `data`, on plain-object data only.
 */
export const JOB_MARKER_FIELD = '__gray';
/**
 * Header values longer than this are rejected before decoding: a signed token (256 bytes, core's
 * MAX_SIGNED_MARKER_BYTES) is the longest valid marker; baggage has its own 8192-byte cap.
 */
export const MAX_MARKER_VALUE_BYTES = 256;
/** A `baggage` header longer than W3C's 8192-byte list limit is not read at all (BG-07). */
export const MAX_BAGGAGE_VALUE_BYTES = 8192;
/**
 * A forwarded `baggage` header (bytes or a list) larger than this is not decoded to merge into:
 * eight times W3C's 8192-byte list limit, so an over-long but real header still keeps its members
 * while the decode stays bounded (I4).
 */
export const MAX_FORWARDED_BAGGAGE_BYTES = 65_536;
/** How long a liveness answer is reused before the broker is asked again. */
export const DEFAULT_PROBE_INTERVAL_MS = 1_000;
/**
 * A lane stays "alive" this long after it was last seen alive, so a consumer that re-arms its
 * subscription (a NATS pull request expiring and being renewed) is not declared dead in between.
 */
export const DEFAULT_LIVENESS_GRACE_MS = 2_000;
/** How often fallback consumers look for messages stranded on a lane with no live consumer. */
export const DEFAULT_DRAIN_INTERVAL_MS = 1_000;
/** Messages moved per lane per drain tick, so one tick's work is bounded. */
export const DEFAULT_DRAIN_BATCH = 500;
/** Redis liveness key TTL for BullMQ lane workers; refreshed every third of it. */
export const DEFAULT_HEARTBEAT_TTL_MS = 5_000;
/** Lifetime of the signed tokens a producer puts on messages in `signed` mode. */
export const DEFAULT_MESSAGE_TOKEN_TTL_SECONDS = 3_600;
/**
 * How long a lane consumer's `close()` waits for handlers still running before it closes anyway
 * (their messages are then redelivered: at least once). BullMQ's own `Worker.close()` waits for
 * active jobs the same way.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
