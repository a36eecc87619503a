/**
 * Timings of the etcd source, each with where it comes from (RELIABILITY §5). They mirror
 * `@graylane/node/sources` so every source retries on the same schedule.
 */

/** First reconnect delay: flagd / FLT-03 "1 s, 2 s, 4 s …". */
export const BACKOFF_INITIAL_MS = 1_000;
/** Reconnect delays stop doubling here: flagd `maxSyncRetryInterval` 60 s (FLT-03). */
export const BACKOFF_MAX_MS = 60_000;
/** ±20 % jitter so a restarted fleet spreads its reconnects (FLT-08). */
export const BACKOFF_JITTER = 0.2;
/** Deadline for one get or watch creation; a hung member never stalls the loop. */
export const ETCD_REQUEST_TIMEOUT_MS = 5_000;
/** gRPC dial timeout for the client this package creates (etcd3's default is 30 s). */
export const ETCD_DIAL_TIMEOUT_MS = 3_000;
