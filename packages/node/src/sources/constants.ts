/**
 * Timings and limits of the rule sources, each with where it comes from (RELIABILITY §5).
 */

// Backoff timings are shared with every source: they live in @graylane/core.
export { BACKOFF_INITIAL_MS, BACKOFF_JITTER, BACKOFF_MAX_MS } from '@graylane/core';

/**
 * File events are coalesced until the directory is quiet this long. Short, because a read that
 * races a writer is detected (size/mtime re-check) and retried, never applied half-written.
 */
export const FILE_DEBOUNCE_MS = 20;
/**
 * A file written in place is read again once it has been quiet this long, and applied only if
 * unchanged (FLT-10: a writer pausing between chunks — 50 ms in FLT-10 — leaves a file that is
 * stable during one read yet torn). Four times FLT-10's pause, under FLT-11's 2 s; chokidar's
 * `awaitWriteFinish` waits 2 s. A file at rest, or one renamed into place whole, costs no wait.
 */
export const FILE_SETTLE_MS = 200;
/** Two applies are at least this far apart (FLT-15: ≤ 1 apply per 100 ms, the last write wins). */
export const FILE_MIN_GAP_MS = 100;
/** A storm of events still applies at least this often (FLT-15: ≤ 1 apply per 100 ms, last wins). */
export const FILE_MAX_WAIT_MS = 1_000;
/**
 * The file watch checks this often that its directory is still the one at the path and that the
 * file did not change unnoticed, and re-arms a lost watch (SRC-02, FLT-11 ≤ 2 s, FLT-12): two
 * `stat`s per period.
 */
export const FILE_REARM_MS = 500;

/** Default HTTP poll interval (Unleash default refresh 15 s). */
export const HTTP_INTERVAL_MS = 15_000;
/** Default HTTP request timeout; a hung endpoint never stalls the schedule. */
export const HTTP_TIMEOUT_MS = 10_000;
/**
 * Redirects one poll follows (fetch allows 20; a rules endpoint needs one or two). A hop to
 * another origin never carries the caller's `headers` (RDR-01).
 */
export const HTTP_MAX_REDIRECTS = 5;

/** Cold start gives up waiting for the first attempt after this (OpenFeature lifecycle 10 000 ms, FLT-01). */
export const START_TIMEOUT_MS = 10_000;
