import { createContextKey, trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';

/*
 * `@opentelemetry/core` keeps this key; `createContextKey` is `Symbol.for(description)`, so the
 * same description gives the same key without depending on core (only the api is a peer).
 * Description copied from core 2.x `trace/rpc-metadata.ts`.
 */
const RPC_METADATA_KEY = createContextKey('OpenTelemetry SDK Context Key RPC_METADATA');

/**
 * @internal The server span of the current request: the span the HTTP instrumentation stores in
 * its RPC metadata (even when a framework instrumentation made a child span active), else the
 * span of `ctx`.
 */
export function findServerSpan(ctx: Context): Span | undefined {
  const meta = ctx.getValue(RPC_METADATA_KEY) as { span?: Span } | undefined;
  const span = meta?.span;
  if (span !== undefined && typeof span.setAttribute === 'function') return span;
  return trace.getSpan(ctx);
}
