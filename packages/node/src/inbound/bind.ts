import { runWithStore } from '../context/run.js';
import { storage } from '../context/storage.js';
import { getOtelBridge } from '../otel/index.js';
import type { InboundOutcome } from './engine.js';

/**
 * Runs `fn` inside the request's graylane context, and — when the OpenTelemetry bridge is
 * available — inside an OTel context whose baggage carries the marker, with the decision
 * annotated on the active span. OTel is an output channel only (RELIABILITY design rule 1).
 * Per request: one `AsyncLocalStorage.run` of graylane's own and one bridge call, which adds
 * OTel's `context.with` only when a context manager is registered; no closure is allocated.
 */
export function runInRequestContext<T>(outcome: InboundOutcome, fn: () => T): T {
  const store = outcome.store;
  const bridge = safeBridge();
  if (bridge === undefined) return storage().run(store, fn);
  if (store.baggageKey === false) {
    try {
      bridge.annotate(outcome.decision);
    } catch {
      // A broken tracer never breaks the request.
    }
    return runWithStore(store, fn);
  }
  return storage().run(store, runInOtel<T>, bridge, outcome.decision, store.baggageKey, fn);
}

/** The inner half of {@link runInRequestContext}, a plain function so no closure is made. */
function runInOtel<T>(
  bridge: NonNullable<ReturnType<typeof getOtelBridge>>,
  decision: InboundOutcome['decision'],
  key: string,
  fn: () => T,
): T {
  return bridge.runRequest(decision, key, fn);
}

function safeBridge(): ReturnType<typeof getOtelBridge> {
  try {
    return getOtelBridge();
  } catch {
    return undefined;
  }
}
