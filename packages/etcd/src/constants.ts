/**
 * Timings of the etcd source, each with where it comes from (RELIABILITY §5).
 */

// Backoff timings are shared by every source: they live in @graylane/core (FLT-03, FLT-08).
export { BACKOFF_INITIAL_MS, BACKOFF_JITTER, BACKOFF_MAX_MS } from '@graylane/core';
/** Deadline for one get or watch creation; a hung member never stalls the loop. */
export const ETCD_REQUEST_TIMEOUT_MS = 5_000;
/** gRPC dial timeout for the client this package creates (etcd3's default is 30 s). */
export const ETCD_DIAL_TIMEOUT_MS = 3_000;
/**
 * gRPC keepalive: a ping after this long without traffic on a connection with an open watch.
 * Not lower than etcd's server-side minimum (`--grpc-keepalive-min-time`, 5 s by default), which
 * answers faster pings by closing the connection.
 */
export const ETCD_KEEPALIVE_TIME_MS = 10_000;
/**
 * A ping unanswered this long closes the connection, so a silent partition (packets dropped, no
 * RST; a frozen member) ends the watch and the source reports `stale` instead of staying `ready`
 * while deaf (SRC-01): detected within keepalive time + timeout, 15 s by default.
 */
export const ETCD_KEEPALIVE_TIMEOUT_MS = 5_000;
