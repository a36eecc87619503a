import { runWithStore } from '../context/run.js';
import { getOtelBridge } from '../otel/index.js';
import type { InboundOutcome } from './engine.js';

/**
 * Runs `fn` inside the request's graylane context, and — when the OpenTelemetry bridge is
 * available — inside an OTel context whose baggage carries the marker, with the decision
 * annotated on the active span. OTel is an output channel only (RELIABILITY design rule 1).
 */
export function runInRequestContext<T>(outcome: InboundOutcome, fn: () => T): T {
  return runWithStore(outcome.store, () => {
    const bridge = safeBridge();
    const key = outcome.store.baggageKey;
    if (!bridge) return fn();
    try {
      bridge.annotate(outcome.decision);
    } catch {
      // A broken tracer never breaks the request.
    }
    if (key === false) return fn();
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
