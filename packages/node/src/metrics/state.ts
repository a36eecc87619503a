import type { CounterLike } from './otel.js';

/**
 * Outcome of one outbound injection attempt (METRIC_NAMES.outbound `result`). `skipped_context`:
 * an allowlisted undici request graylane could not trace to the code that made it (a queued call
 * on a dispatcher no graylane hook sees), so no marker was added (I7).
 */
export type OutboundResult = (typeof OUTBOUND_RESULTS)[number];

/** Every `result` of METRIC_NAMES.outbound, in the docs' order: the closed list (I2). */
export const OUTBOUND_RESULTS = [
  'injected',
  'skipped_host',
  'skipped_caller',
  'skipped_invalid',
  'skipped_context',
] as const;

/** The OTel counters, one per metric name graylane records from Node. */
export interface OtelCounters {
  readonly decisions: CounterLike;
  readonly invalidMarkers: CounterLike;
  readonly outbound: CounterLike;
  readonly fallbacks: CounterLike;
}

/** @internal Process-wide metrics state: one copy whatever mix of ESM/CJS entries loads (issue 15). */
export interface MetricsState {
  readonly outbound: Record<OutboundResult, number>;
  readonly fallbacks: Map<string, { wanted: string; served: string; count: number }>;
  /** The loaded `@opentelemetry/api` metrics entry; null when it is not installed. */
  otelApi: unknown;
  /** The global MeterProvider the counters were created from (issue 20: re-resolved on change). */
  otelProvider: unknown;
  otelCounters: OtelCounters | undefined;
  /**
   * The config stores of this process's engines, weakly held: the versions a bare
   * `runWithGray(v)` may be named by in the fallback counter. Optional: a copy of an older
   * release may have created the state without it.
   */
  declaring?: WeakRef<DeclaringStore>[];
}

/** The part of an engine's config store read through {@link declaringConfigs}. */
export interface DeclaringStore {
  get(): { readonly config: DeclaringConfig };
}

/**
 * What is asked of a config in force: the fallback counter's `hasVersion`, the asset handler's
 * `versions`. A store remembered by a copy of another release may hold another shape: callers
 * guard what they read.
 */
export interface DeclaringConfig {
  hasVersion(version: string): boolean;
  readonly versions?: unknown;
}

/**
 * Versioned, so a future release with another state shape never reads this one. Every entry
 * (`.`, `/express`, `/koa`, … in ESM and CJS) bundles its own copy of this module; the symbol
 * registry is what they share.
 */
const KEY = Symbol.for('@graylane/node.metrics.v1');

/** @internal The one metrics state of this process, created on first use (never on import). */
export function metricsState(): MetricsState {
  const g = globalThis as { [KEY]?: MetricsState };
  return (g[KEY] ??= {
    outbound: {
      injected: 0,
      skipped_host: 0,
      skipped_caller: 0,
      skipped_invalid: 0,
      skipped_context: 0,
    },
    fallbacks: new Map(),
    otelApi: undefined,
    otelProvider: undefined,
    otelCounters: undefined,
  });
}

/**
 * @internal The config in force of each engine store remembered in {@link MetricsState.declaring},
 * newest engine first. A collected store is dropped from the list; one that cannot answer (its
 * `get()` throws, or holds no config) is passed over: it declares nothing.
 */
export function* declaringConfigs(): Generator<DeclaringConfig, void, undefined> {
  const refs = metricsState().declaring;
  if (refs === undefined) return;
  for (let i = refs.length - 1; i >= 0; i--) {
    const store = refs[i]?.deref();
    if (store === undefined) {
      refs.splice(i, 1);
      continue;
    }
    let config: DeclaringConfig | undefined;
    try {
      config = store.get().config;
    } catch {
      continue;
    }
    if (typeof config === 'object' && config !== null) yield config;
  }
}
