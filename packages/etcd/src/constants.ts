/**
 * Timings of the etcd source, each with where it comes from (RELIABILITY §5).
 */

// Backoff timings are shared by every source: they live in @graylane/core (FLT-03, FLT-08).
export { BACKOFF_INITIAL_MS, BACKOFF_JITTER, BACKOFF_MAX_MS } from '@graylane/core';
/** Deadline for one get or watch creation; a hung member never stalls the loop. */
export const ETCD_REQUEST_TIMEOUT_MS = 5_000;
/** gRPC dial timeout for the client this package creates (etcd3's default is 30 s). */
export const ETCD_DIAL_TIMEOUT_MS = 3_000;
