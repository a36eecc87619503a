import {
  BACKOFF_MAX_MS,
  GraylaneError,
  createBackoff,
  sourceRuntime,
  type BackoffOptions,
  type ConfigStore,
  type SourceOptions,
  describeError,
  oneLine,
  reportFailedLoad,
} from '@graylane/core';
import { DEFAULT_REFRESH_INTERVAL_MS, DEFAULT_REFRESH_TIMEOUT_MS } from '../limits.js';
import type { EdgeRuleSource, LoadResult } from './types.js';

/** Options every edge source shares. */
export interface EdgeSourceOptions extends SourceOptions {
  /** Shortest pause between two refreshes after a success. Default 30 s. */
  readonly minIntervalMs?: number | undefined;
  /** A read slower than this is abandoned; the last-known-good config stays. Default 5 s. */
  readonly timeoutMs?: number | undefined;
  /** Pause after failures. Default 1 s doubling to 60 s, ±20 %. */
  readonly backoff?: BackoffOptions | undefined;
}

/** The loader a source supplies: one read, given the last ETag it saw. Must not throw (caught anyway). */
export type Loader = (etag: string | undefined, signal: AbortSignal) => Promise<LoadResult>;

/**
 * @internal Turns a loader into an {@link EdgeRuleSource}: due-time bookkeeping on the monotonic
 * clock, single-flight, a timeout, backoff with jitter after failures, a stop after fatal
 * answers, and validate-then-swap through the store.
 *
 * A read is owned by no request. On workerd a read begun by a request that returns without
 * `waitUntil` is cancelled with that request's I/O: its fetch and its timeout timer never fire and
 * its promise never settles. So a read older than `timeoutMs` on the clock is abandoned (SRC-06):
 * the next due refresh starts another, an abandoned read's late answer changes nothing, and
 * `refresh()` waits for a read under way at most until its timeout, with a timer of its own.
 *
 * Due time is "this long after that monotonic instant" (`clock.now()`, `performance.now`; WT-09):
 * a wall-clock step (NTP, a VM resume) neither delays a refresh by the size of the step nor makes
 * one early, and a monotonic reading that went backwards makes the refresh due at once — the
 * wait is never longer than the interval or backoff that scheduled it.
 */
export function createRefresher(
  options: EdgeSourceOptions,
  defaultName: string,
  load: Loader,
): EdgeRuleSource {
  const { name, clock, logger, status } = sourceRuntime(options, defaultName);
  const interval = positive(options.minIntervalMs, DEFAULT_REFRESH_INTERVAL_MS, 'minIntervalMs');
  const timeout = positive(options.timeoutMs, DEFAULT_REFRESH_TIMEOUT_MS, 'timeoutMs');
  const backoff = createBackoff(options.backoff);
  /** Next refresh: `wait` ms after the monotonic instant `from`; none yet: due now. */
  let due: { readonly from: number; readonly wait: number } | undefined;
  /** Fatal answer: no refresh ever again. */
  let halted = false;
  let etag: string | undefined;
  /** The read under way: its promise, the monotonic instant it began, its sequence number. */
  let inflight: Flight | undefined;
  let flights = 0;

  const dueIn = (wait: number): void => {
    due = { from: clock.now(), wait };
  };
  const isDue = (): boolean => {
    if (halted) return false;
    if (due === undefined) return true;
    const elapsed = clock.now() - due.from;
    return elapsed >= due.wait || elapsed < 0;
  };

  const fail = (problem: string, delay: number): void => {
    const message = oneLine(problem);
    if (status.get().lastError !== message)
      logger.warn(
        `[graylane] ${oneLine(name, 200)} rules: ${message}; keeping the last good config`,
      );
    status.failed(message);
    dueIn(delay);
  };

  /** The read under way, unless it is older than its timeout (abandoned: never awaited again). */
  const current = (): Flight | undefined => {
    if (inflight === undefined) return undefined;
    const elapsed = clock.now() - inflight.since;
    if (elapsed > timeout || elapsed < 0) inflight = undefined;
    return inflight;
  };

  const once = async (store: ConfigStore, id: number): Promise<void> => {
    const controller = new AbortController();
    const timer = clock.setTimeout(
      () => controller.abort(new Error(`timed out after ${timeout} ms`)),
      timeout,
    );
    let result: LoadResult;
    try {
      result = await Promise.race([load(etag, controller.signal), aborted(controller.signal)]);
    } catch (err) {
      result = { kind: 'failed', message: `read failed: ${String(err)}` };
    } finally {
      clock.clearTimeout(timer);
    }
    // Abandoned meanwhile (older than its timeout): a later read owns the source now.
    if (inflight?.id !== id) return;
    // A read that offered the store no document is a failed reload (`counters.reload`); a
    // document the store rejects is counted by the store's own answer.
    if (result.kind === 'failed' || result.kind === 'fatal') reportFailedLoad(store, name);
    switch (result.kind) {
      case 'unchanged':
        return succeed();
      case 'fatal': {
        const error = new GraylaneError('SOURCE_FATAL', `${name} rules: ${result.message}`);
        logger.error(`${error.message}; the source stopped and the last good config stays`, error);
        status.fatal(oneLine(result.message));
        halted = true;
        return;
      }
      case 'failed':
        // A server's Retry-After is honoured up to the backoff cap (FLT-05), never below the backoff.
        return fail(
          result.message,
          Math.max(backoff.next(), Math.min(result.retryAfterMs ?? 0, BACKOFF_MAX_MS)),
        );
      case 'document':
        break;
    }
    let outcome: ReturnType<ConfigStore['update']>;
    try {
      // No revision guard: one source's reads are single-flight, so they apply in order; a
      // per-instance counter would make a re-created source, or a second one with the same
      // name on a shared store, look stale and be ignored while reporting ready (SRC-01/03).
      outcome = store.update(result.value, { source: name });
    } catch (err) {
      return fail(`store update failed unexpectedly: ${String(err)}`, interval);
    }
    if (outcome.status === 'rejected')
      return fail(`document rejected: ${describeError(outcome.error)}`, interval);
    etag = result.etag;
    succeed();
  };

  const succeed = (): void => {
    backoff.reset();
    status.succeeded();
    dueIn(interval);
  };

  const start = (store: ConfigStore): Flight => {
    const id = ++flights;
    const promise = once(store, id)
      .catch((err: unknown) => {
        if (inflight?.id === id) fail(`refresh failed unexpectedly: ${String(err)}`, interval);
      })
      .finally(() => {
        if (inflight?.id === id) inflight = undefined;
      });
    inflight = { promise, since: clock.now(), id };
    return inflight;
  };

  /**
   * Until `flight` settles, or its timeout has passed (a timer of this caller's: the read's own
   * may belong to a request that has ended). Never rejects.
   */
  const settle = (flight: Flight): Promise<void> =>
    new Promise<void>((resolve) => {
      const wait = Math.max(0, timeout - (clock.now() - flight.since)) + 1;
      const timer = clock.setTimeout(resolve, wait);
      const done = (): void => {
        clock.clearTimeout(timer);
        resolve();
      };
      flight.promise.then(done, done);
    });

  /**
   * An explicit refresh reads after it was asked for: a read already under way (a request's
   * due refresh) may have begun before the rules the caller just wrote, so one more read
   * follows it, shared by every caller that asks meanwhile. Still one read at a time. A read
   * that outlives its timeout is abandoned rather than waited for; never rejects.
   */
  const refresh = async (store: ConfigStore): Promise<void> => {
    const asked = flights;
    try {
      for (;;) {
        const flight = current() ?? start(store);
        await settle(flight);
        if (inflight === flight) inflight = undefined; // timed out on this caller's timer
        if (flight.id > asked) return;
      }
    } catch {
      // A broken clock or store: the refresh is over, the last good config stays.
    }
  };

  return {
    name,
    refresh,
    refreshIfDue(store) {
      if (current()) return undefined;
      return isDue() ? start(store).promise : undefined;
    },
    status: () => status.get(),
  };
}

interface Flight {
  readonly promise: Promise<void>;
  readonly since: number;
  readonly id: number;
}

function aborted(signal: AbortSignal): Promise<LoadResult> {
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => resolve({ kind: 'failed', message: String(signal.reason) }),
      { once: true },
    );
  });
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0)
    throw new GraylaneError('INVALID_OPTIONS', `edge rules: ${what} must be a non-negative number`);
  return v;
}
