import {
  GraylaneError,
  createAllowlist,
  isVersionLabel,
  type AllowEntry,
  type Decision,
} from '@graylane/core';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY } from '../limits.js';
import { GrayLane, currentLane, storage } from './storage.js';

/** Options of {@link runWithGray} and {@link createLane}. */
export interface LaneOptions {
  /** Outbound targets that receive the marker. Default: inherited from the bound lane, else none. */
  readonly allowHosts?: readonly AllowEntry[];
  /** Outbound header name. Default `x-gray-id`. */
  readonly header?: string;
  /** Outbound baggage key, or false. Default `gray`. */
  readonly baggageKey?: string | false;
}

/**
 * Builds a lane by hand (jobs, scheduled handlers, tests): a version or a decision plus where
 * it may be sent. Inside a request's lane it takes that lane's allowlist, names and `keep`: in a
 * lane decided in `edge` or `signed` mode, it is how an app calls another version on purpose
 * (its version replaces a forwarded client marker). Throws `INVALID_OPTIONS` on a malformed
 * version label (a programming mistake).
 *
 * @example
 * ```ts
 * const lane = createLane('beta', { allowHosts: ['orders.internal'] });
 * await withGray(fetch, { lane })('https://orders.internal/v1');
 * ```
 */
export function createLane(
  versionOrDecision: string | Decision,
  options: LaneOptions = {},
): GrayLane {
  options ??= {}; // `null` from plain JS
  const decision: Decision =
    typeof versionOrDecision === 'string'
      ? { version: versionOrDecision, reason: 'context', source: 'context' }
      : versionOrDecision;
  // `?.`: `createLane()` / `createLane(null)` from plain JS.
  if (!isVersionLabel(decision?.version)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `createLane: ${JSON.stringify(String(decision?.version)).slice(0, 40)} is not a version label`,
    );
  }
  const parent = currentLane();
  const allow =
    options.allowHosts === undefined
      ? parent?.allow
      : createAllowlist({ allow: options.allowHosts });
  const header = (options.header ?? parent?.header ?? DEFAULT_HEADER).toLowerCase();
  const baggageKey =
    options.baggageKey === undefined
      ? (parent?.baggageKey ?? DEFAULT_MARKER_KEY)
      : options.baggageKey;
  // Inside a lane decided under `edge` or `signed` trust, a lane built by hand carries its own
  // version over any marker the app forwards, as its parent does (GW-01): the way to call
  // another version deliberately is a lane of that version.
  return new GrayLane(decision, allow, header, baggageKey, parent?.keep);
}

/**
 * Runs `fn` with a lane bound, where the runtime has an `AsyncLocalStorage` (workerd with
 * `nodejs_compat`, Vercel Edge, or one given to `provideAsyncLocalStorage` in Deno and Bun).
 * Where it has none, `fn` still runs, and code inside must pass the lane explicitly.
 *
 * @example
 * ```ts
 * await runWithGray('beta', () => refreshCache(), { allowHosts: ['orders.internal'] });
 * ```
 */
export function runWithGray<T>(
  lane: GrayLane | string | Decision,
  fn: () => T,
  options: LaneOptions = {},
): T {
  if (typeof fn !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'runWithGray: fn must be a function');
  const bound = lane instanceof GrayLane ? lane : createLane(lane, options);
  return runInLane(bound, fn);
}

/** @internal Binds a prepared lane when an ALS exists; otherwise just calls `fn`. */
export function runInLane<T>(lane: GrayLane, fn: () => T): T {
  const als = storage();
  return als ? als.run(lane, fn) : fn();
}

/**
 * The version of the current request. Throws `GraylaneError('NO_CONTEXT')` outside a lane (or
 * where the runtime has no `AsyncLocalStorage`) — use {@link tryGetGrayVersion} where that is
 * expected, or read `outcome.decision.version` explicitly.
 *
 * @example
 * ```ts
 * return new Response(getGrayVersion() === 'beta' ? newPage() : oldPage());
 * ```
 */
export function getGrayVersion(): string {
  const lane = currentLane();
  if (!lane) {
    throw new GraylaneError(
      'NO_CONTEXT',
      'getGrayVersion() called outside a graylane lane; wrap the handler with gray.run(), provide an AsyncLocalStorage, or use tryGetGrayVersion()',
    );
  }
  return lane.decision.version;
}

/**
 * The version of the current request, or undefined outside a lane. Never throws.
 *
 * @example
 * ```ts
 * const version = tryGetGrayVersion() ?? 'stable';
 * ```
 */
export function tryGetGrayVersion(): string | undefined {
  return currentLane()?.decision.version;
}

/**
 * The full decision of the current request (`version`, `reason`, `source`, `ruleId`, …), or
 * undefined outside a lane. Never throws.
 *
 * @example
 * ```ts
 * console.log(getGrayDecision()?.reason);
 * ```
 */
export function getGrayDecision(): Decision | undefined {
  return currentLane()?.decision;
}
