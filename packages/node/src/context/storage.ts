import { AsyncLocalStorage } from 'node:async_hooks';
import type { Allowlist, Decision } from '@graylane/core';

/**
 * What graylane keeps for one request (or one `runWithGray` scope). A class, so heap snapshots
 * can count instances by name (RELIABILITY CTX-11).
 */
export class GrayStore {
  /** Set by `grayHandlers` when the decided version had no handler (lane fallback). */
  lane: string | undefined = undefined;
  /**
   * @internal A request's store: the Node request and response it was decided for, so a listener
   * added to them inside this context is bound to it (context/emitters.ts), and the decide-once
   * record. Undefined for `runWithGray` scopes. Held strongly: an async resource created during
   * the request (a pooled socket) that keeps this store keeps them too, as long as it lives.
   */
  request: object | undefined = undefined;
  response: object | undefined = undefined;
  entry: object | undefined = undefined;
  /** @internal The store of a stricter decision on the same request (GW-03), which replaces it. */
  successor: GrayStore | undefined = undefined;
  /**
   * @internal The OpenTelemetry context the request's handler runs in (the OTel bridge keeps it
   * when a context manager is registered): baggage carrying the decided marker, or without the
   * member under `markers.baggage: false`. The request's `req`/`res` listeners enter it too, so
   * an instrumentation's own binding of the emitters (the client's baggage) does not win (OTB-02).
   */
  otelContext: unknown = undefined;

  constructor(
    readonly decision: Decision,
    /** Outbound allowlist for this scope; undefined means "never inject". */
    readonly allow: Allowlist | undefined,
    /** Lower-cased outbound marker header. */
    readonly header: string,
    /** Outbound baggage key, or false. */
    readonly baggageKey: string | false,
  ) {}
}

const STORAGE_KEY = Symbol.for('@graylane/node.context');

/**
 * The one AsyncLocalStorage, created on first use (nothing happens on import) and shared through
 * a registered symbol, so the ESM and CJS builds and every subpath entry see the same context.
 * Bound with `run()` only; `enterWith` is forbidden by lint (CTX-09).
 */
export function storage(): AsyncLocalStorage<GrayStore> {
  if (shared !== undefined) return shared;
  const g = globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<GrayStore> };
  let als = g[STORAGE_KEY];
  if (!als) {
    als = new AsyncLocalStorage<GrayStore>();
    g[STORAGE_KEY] = als;
  }
  return (shared = als);
}

/** This copy's reference to the shared instance (read per request and per event). */
let shared: AsyncLocalStorage<GrayStore> | undefined;

/** The current store, or undefined outside any graylane scope. Never throws. */
export function currentStore(): GrayStore | undefined {
  return storage().getStore();
}
