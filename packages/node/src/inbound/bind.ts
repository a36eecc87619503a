import { runWithStore } from '../context/run.js';
import { getOtelBridge } from '../otel/index.js';
import type { InboundOutcome } from './engine.js';

/**
 * Runs `fn` inside the request's graylane context, and — when the OpenTelemetry bridge is
 * available — inside an OTel context whose baggage carries the marker, with the decision
 * annotated on the active span. OTel is an output channel only (RELIABILITY design rule 1).
 * One `AsyncLocalStorage.run` of graylane's own per call; the bridge adds OTel's `context.with`
 * only when a context manager is registered.
 */
export function runInRequestContext<T>(outcome: InboundOutcome, fn: () => T): T {
  const bridge = safeBridge();
  if (!bridge) return runWithStore(outcome.store, fn);
  // The span is the one active outside graylane's context too (OTel keeps its own context).
  try {
    bridge.annotate(outcome.decision);
  } catch {
    // A broken tracer never breaks the request.
  }
  const key = outcome.store.baggageKey;
  if (key === false) return runWithStore(outcome.store, fn);
  return runWithStore(outcome.store, () => {
    let ran = false;
    try {
      return bridge.runWithMarker(outcome.decision.version, key, () => {
        ran = true;
        return fn();
      });
    } catch (err) {
      // If the bridge failed before running the handler, run it without OTel; a handler error
      // is the app's own and is re-thrown unchanged.
      if (ran) throw err;
      return fn();
    }
  });
}

function safeBridge(): ReturnType<typeof getOtelBridge> {
  try {
    return getOtelBridge();
  } catch {
    return undefined;
  }
}
