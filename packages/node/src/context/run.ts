import { AsyncResource } from 'node:async_hooks';
import {
  GraylaneError,
  createAllowlist,
  isVersionLabel,
  type AllowEntry,
  type Decision,
} from '@graylane/core';
import { DEFAULT_HEADER, DEFAULT_MARKER_KEY } from '../limits.js';
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
 * consumers, scripts and tests. Outbound calls inside `fn` carry the marker to `allowHosts`.
 * Throws `INVALID_OPTIONS` for a malformed version label (a programming mistake).
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
  const decision: Decision =
    typeof versionOrDecision === 'string'
      ? { version: versionOrDecision, reason: 'context', source: 'context' }
      : versionOrDecision;
  if (!isVersionLabel(decision.version)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `runWithGray: ${JSON.stringify(String(decision.version)).slice(0, 40)} is not a version label`,
    );
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
  return runWithStore(new GrayStore(decision, allow, header, baggageKey), fn);
}

/** @internal Binds a prepared store (the middleware, adapters and tests use it). */
export function runWithStore<T>(store: GrayStore, fn: () => T): T {
  return storage().run(store, fn);
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
  return AsyncResource.bind(fn) as unknown as F;
}
