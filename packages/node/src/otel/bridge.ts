import { isVersionLabel } from '@graylane/core';
import type { Decision } from '@graylane/core';
import type { Context, Span } from '@opentelemetry/api';
import type { OtelApiLike } from './load.js';

/** What the middleware needs from OpenTelemetry. */
export interface OtelBridge {
  /** Runs `fn` in an OTel context whose baggage carries `key=version` (other entries kept). */
  runWithMarker<T>(version: string, key: string, fn: () => T): T;
  /** Sets `graylane.version` / `graylane.reason` on the request's server span. */
  annotate(decision: Decision): void;
}

/*
 * Keys owned by @opentelemetry/core; `createContextKey` is `Symbol.for(description)`, so the same
 * description yields the same key without depending on core (core 2.x `trace/rpc-metadata.ts`).
 */
const RPC_METADATA = 'OpenTelemetry SDK Context Key RPC_METADATA';

/**
 * Builds the bridge over a loaded api. Everything is resolved at call time through the api's
 * global registry, so a context manager registered after graylane started is used (OUT-07), and
 * the Noop manager simply runs `fn` (CTX-10): graylane's own AsyncLocalStorage still carries the
 * marker. Never throws from its own work.
 */
export function createOtelBridge(api: OtelApiLike): OtelBridge {
  const rpcKey = api.createContextKey(RPC_METADATA);
  let warned = false;

  function withMarker(version: string, key: string): Context | undefined {
    if (!isVersionLabel(version)) return undefined;
    const active = api.context.active();
    const baggage = api.propagation.getBaggage(active);
    if (baggage?.getEntry(key)?.value === version) return undefined;
    const next = (baggage ?? api.propagation.createBaggage()).setEntry(key, { value: version });
    return api.propagation.setBaggage(active, next);
  }

  function warnIfInactive(ctx: Context): void {
    if (warned || api.context.active() === ctx) return;
    warned = true;
    api.diag.warn(
      '[graylane] no active OpenTelemetry context manager: the marker is carried by graylane only, not in OTel baggage',
    );
  }

  return {
    runWithMarker<T>(version: string, key: string, fn: () => T): T {
      let ctx: Context | undefined;
      try {
        ctx = withMarker(version, key);
      } catch {
        ctx = undefined;
      }
      if (ctx === undefined) return fn();
      const bound = ctx;
      return api.context.with(bound, () => {
        warnIfInactive(bound);
        return fn();
      });
    },
    annotate(decision: Decision): void {
      try {
        const active = api.context.active();
        const meta = active.getValue(rpcKey) as { span?: Span } | undefined;
        const span = meta?.span ?? api.trace.getSpan(active);
        if (span === undefined || !span.isRecording()) return;
        span.setAttributes({
          'graylane.version': decision.version,
          'graylane.reason': decision.reason,
        });
      } catch {
        // Telemetry never breaks a request (RELIABILITY I1).
      }
    },
  };
}
