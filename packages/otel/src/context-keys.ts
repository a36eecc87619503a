import { createContextKey, trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';

/*
 * `@opentelemetry/core` keeps these two keys; `createContextKey` is `Symbol.for(description)`, so
 * the same descriptions give the same keys without depending on core (only the api is a peer).
 * Descriptions copied from core 2.x `trace/suppress-tracing.ts` and `trace/rpc-metadata.ts`.
 */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const RPC_METADATA_KEY = createContextKey('OpenTelemetry SDK Context Key RPC_METADATA');

/** @internal Same answer as core's `isTracingSuppressed(ctx)`. */
export function isSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true;
}

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
