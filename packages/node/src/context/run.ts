import { AsyncResource } from 'node:async_hooks';
import {
  GraylaneError,
  createAllowlist,
  isVersionLabel,
  type AllowEntry,
  type Decision,
} from '@graylane/core';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY } from '../limits.js';
import { getOtelBridge } from '../otel/index.js';
import { countMalformedContext } from './ignored.js';
import { GrayStore, currentStore, storage } from './storage.js';

/** Options of {@link runWithGray}. */
export interface RunWithGrayOptions {
  /** Outbound targets that receive the marker inside `fn`. Default: inherited, else none. */
  readonly allowHosts?: readonly AllowEntry[];
  /** Outbound header name. Default `x-gray-id`. */
  readonly header?: string;
  /** Outbound baggage key, or false. Default `gray`. */
  readonly baggageKey?: string | false;
}

/**
 * Runs `fn` with a version bound, as if a request had been decided so — for jobs, queue
 * consumers, scripts and tests. Outbound calls inside `fn` carry the marker to `allowHosts`;
 * with OpenTelemetry active (a context manager registered), `fn` also runs in an OTel context
 * whose baggage carries `gray=<version>`, so OTel-instrumented clients carry the lane (OTB-05).
 * A malformed version (not a label, e.g. from a message header) is ignored, never thrown: `fn`
 * runs in the enclosing scope, or unbound (`tryGetGrayVersion()` is undefined and
 * `grayBranch`/`grayHandlers` serve their fallback), and the call is counted in
 * `ignoredContextStats().malformed`. `fn`'s own errors propagate unchanged.
 *
 * @example
 * ```ts
 * await runWithGray('beta', () => processJob(job), { allowHosts: ['orders.internal'] });
 * ```
 */
export function runWithGray<T>(
  versionOrDecision: string | Decision,
  fn: () => T,
  options: RunWithGrayOptions = {},
): T {
  if (typeof fn !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'runWithGray: fn must be a function');
  options ??= {}; // `null` from plain JS
  const decision: Decision | undefined =
    typeof versionOrDecision === 'string'
      ? { version: versionOrDecision, reason: 'context', source: 'context' }
      : typeof versionOrDecision === 'object' && versionOrDecision !== null
        ? versionOrDecision
        : undefined;
  if (decision === undefined || !isVersionLabel(decision.version)) {
    countMalformedContext();
    return fn();
  }
  const parent = currentStore();
  const allow =
    options.allowHosts === undefined
      ? parent?.allow
      : createAllowlist({ allow: options.allowHosts });
  const header = (options.header ?? parent?.header ?? DEFAULT_HEADER).toLowerCase();
  const baggageKey =
    options.baggageKey === undefined
      ? (parent?.baggageKey ?? DEFAULT_MARKER_KEY)
      : options.baggageKey;
  const store = new GrayStore(decision, allow, header, baggageKey);
  if (baggageKey === false) return runWithStore(store, fn);
  return storage().run(store, () => withOtelBaggage(decision.version, baggageKey, fn));
}

function safeBridge(): ReturnType<typeof getOtelBridge> {
  try {
    return getOtelBridge();
  } catch {
    return undefined;
  }
}

/** `fn` inside an OTel context without the `key` member, when OTel is active; else `fn` as is. */
function withoutOtelMember<T>(key: string, fn: () => T): T {
  const bridge = safeBridge();
  if (bridge === undefined) return fn();
  let ran = false;
  try {
    return bridge.runWithoutMember(key, () => {
      ran = true;
      return fn();
    });
  } catch (err) {
    if (ran) throw err;
    return fn();
  }
}

/** `fn` inside an OTel context carrying `key=version` when OTel is active; else `fn` as is. */
function withOtelBaggage<T>(version: string, key: string, fn: () => T): T {
  const bridge = safeBridge();
  if (bridge === undefined) return fn();
  let ran = false;
  try {
    return bridge.runWithMarker(version, key, () => {
      ran = true;
      return fn();
    });
  } catch (err) {
    // A bridge failure before `fn` ran falls back to plain `fn`; `fn`'s own error is the caller's.
    if (ran) throw err;
    return fn();
  }
}

/**
 * @internal Binds a prepared store (the middleware, adapters and tests use it). With the baggage
 * carrier off (`baggageKey: false`), a `gray` member already in the OTel context (the W3C
 * propagator extracted the client's) is removed for `fn`, so OTel never forwards what graylane
 * ignored (OTB-02).
 */
export function runWithStore<T>(store: GrayStore, fn: () => T): T {
  if (store.baggageKey !== false) return storage().run(store, fn);
  return storage().run(store, () => withoutOtelMember(DEFAULT_MARKER_KEY, fn));
}

/**
 * Binds `fn` to the current request context, for callbacks that a pool, an emitter or a queue
 * will call later from another request's context (RELIABILITY CTX-03/CTX-04, design rule 7).
 *
 * @example
 * ```ts
 * pool.acquire(bindGray((err, conn) => {
 *   // getGrayVersion() is this request's version, whoever released the connection
 * }));
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any callback shape must bind
export function bindGray<F extends (...args: any[]) => unknown>(fn: F): F {
  if (typeof fn !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'bindGray: fn must be a function');
  return AsyncResource.bind(fn) as unknown as F;
}
