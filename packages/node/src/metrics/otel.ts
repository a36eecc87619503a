import { packageRequire } from '../package-require.js';
import { METRIC_NAMES } from '@graylane/core';
import { metricsState, type OtelCounters } from './state.js';

/** The part of an OTel counter graylane uses. */
export interface CounterLike {
  add(value: number, attributes?: Record<string, string>): void;
}

interface MetricsApiLike {
  metrics: {
    getMeter(name: string): {
      createCounter(name: string, options?: { description?: string }): CounterLike;
    };
  };
}

/**
 * Where `@opentelemetry/api` 1.x keeps its registered globals (`api/src/internal/global-utils.ts`);
 * `metrics` is the registered MeterProvider. Shared by every copy of the api.
 */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * The OTel counters, or undefined when `@opentelemetry/api` is not installed. Never throws.
 *
 * `@opentelemetry/api` has no proxy MeterProvider: a meter taken before the app registers its SDK
 * stays a no-op for ever. So the counters are re-created whenever the registered provider changes
 * (issue 20) — one property read per call to notice it, the same registry slot the api reads.
 */
export function otelCounters(): OtelCounters | undefined {
  const state = metricsState();
  if (state.otelApi === undefined) state.otelApi = loadApi();
  const api = state.otelApi as MetricsApiLike | null;
  if (api === null) return undefined;
  const provider = registeredProvider();
  // No MeterProvider registered: the api would hand out no-op counters; skip them per request.
  if (provider === undefined) return undefined;
  if (state.otelCounters === undefined || provider !== state.otelProvider) {
    state.otelProvider = provider;
    state.otelCounters = createCounters(api);
  }
  return state.otelCounters;
}

/** Adds to an OTel counter, swallowing any error from a misbehaving SDK. */
export function safeAdd(
  counter: CounterLike | undefined,
  attributes: Record<string, string>,
): void {
  if (!counter) return;
  try {
    counter.add(1, attributes);
  } catch {
    // A broken metrics SDK must never break a request (I1).
  }
}

function loadApi(): MetricsApiLike | null {
  try {
    const api = packageRequire()('@opentelemetry/api') as Partial<MetricsApiLike>;
    return typeof api.metrics?.getMeter === 'function' ? (api as MetricsApiLike) : null;
  } catch {
    return null;
  }
}

function registeredProvider(): unknown {
  const registry = (globalThis as { [OTEL_GLOBAL]?: { metrics?: unknown } })[OTEL_GLOBAL];
  return typeof registry === 'object' && registry !== null ? registry.metrics : undefined;
}

function createCounters(api: MetricsApiLike): OtelCounters | undefined {
  try {
    const meter = api.metrics.getMeter('@graylane/node');
    return {
      decisions: meter.createCounter(METRIC_NAMES.decisions, { description: 'graylane decisions' }),
      invalidMarkers: meter.createCounter(METRIC_NAMES.invalidMarkers, {
        description: 'markers present but ignored',
      }),
      outbound: meter.createCounter(METRIC_NAMES.outbound, {
        description: 'outbound marker injection',
      }),
      fallbacks: meter.createCounter(METRIC_NAMES.fallbacks, { description: 'lane fallbacks' }),
    };
  } catch {
    return undefined;
  }
}

/** Where {@link followingCounter} keeps its counter and the MeterProvider it was made from. */
export interface CounterCache {
  counter: CounterLike | undefined;
  counterProvider: unknown;
}

/**
 * A counter of the `@graylane/node` meter outside the fixed set (propagation coverage's), kept
 * in `cache` and re-created when the registered MeterProvider changes, like the others.
 * Undefined when `@opentelemetry/api` is not installed. Never throws.
 */
export function followingCounter(
  cache: CounterCache,
  name: string,
  description: string,
): CounterLike | undefined {
  const state = metricsState();
  if (state.otelApi === undefined) state.otelApi = loadApi();
  const api = state.otelApi as MetricsApiLike | null;
  if (api === null) return undefined;
  const provider = registeredProvider();
  if (cache.counter === undefined || provider !== cache.counterProvider) {
    cache.counterProvider = provider;
    try {
      cache.counter = api.metrics.getMeter('@graylane/node').createCounter(name, { description });
    } catch {
      cache.counter = undefined;
    }
  }
  return cache.counter;
}
