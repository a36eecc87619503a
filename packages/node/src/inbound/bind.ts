import { coverRequestEmitters } from '../context/emitters.js';
import { storage, type GrayStore } from '../context/storage.js';
import { DEFAULT_MARKER_KEY } from '../limits.js';
import { getOtelBridge } from '../otel/index.js';
import type { InboundOutcome } from './engine.js';

/**
 * Runs `fn` inside the request's graylane context, and — when the OpenTelemetry bridge is
 * available — inside an OTel context whose baggage carries the marker (or, with
 * `markers.baggage: false`, lacks the `gray` member a client sent: OTB-02), with the decision
 * annotated on the active span. OTel is an output channel only (RELIABILITY design rule 1).
 * The bridge keeps that OTel context on the store, for the request's listeners, and then lets
 * graylane's listener methods go over an instrumentation's on the request and response
 * (`coverRequestEmitters`, context/emitters.ts). Per request: one `AsyncLocalStorage.run` of
 * graylane's own and one bridge call, which adds OTel's `context.with` only when a context
 * manager is registered; no closure is allocated.
 */
export function runInRequestContext<T>(outcome: InboundOutcome, fn: () => T): T {
  const store = outcome.store;
  const bridge = safeBridge();
  if (bridge === undefined) return storage().run(store, fn);
  const key = store.baggageKey;
  if (key === false)
    return storage().run(store, runWithoutMember<T>, bridge, outcome.decision, store, fn);
  return storage().run(store, runInOtel<T>, bridge, outcome.decision, key, store, fn);
}

type Bridge = NonNullable<ReturnType<typeof getOtelBridge>>;

/** The inner half of {@link runInRequestContext}, a plain function so no closure is made. */
function runInOtel<T>(
  bridge: Bridge,
  decision: InboundOutcome['decision'],
  key: string,
  store: GrayStore,
  fn: () => T,
): T {
  return bridge.runRequest(decision, key, fn, store, undefined, coverRequestEmitters);
}

/** `markers.baggage: false`: the OTel context loses the `gray` member a client sent (OTB-02). */
function runWithoutMember<T>(
  bridge: Bridge,
  decision: InboundOutcome['decision'],
  store: GrayStore,
  fn: () => T,
): T {
  return bridge.runRequest(decision, false, fn, store, DEFAULT_MARKER_KEY, coverRequestEmitters);
}

function safeBridge(): ReturnType<typeof getOtelBridge> {
  try {
    return getOtelBridge();
  } catch {
    return undefined;
  }
}
