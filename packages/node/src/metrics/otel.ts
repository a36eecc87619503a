import { packageRequire } from '../package-require.js';
import { METER_NAME, METRIC_NAMES, metricOptions, type MetricName } from '@graylane/core';
import { metricsState, type OtelCounters } from './state.js';

/** The part of an OTel counter graylane uses. */
export interface CounterLike {
  add(value: number, attributes?: Record<string, string>): void;
}

interface MetricsApiLike {
  metrics: {
    getMeter(name: string): {
      createCounter(name: string, options?: { description?: string; unit?: string }): CounterLike;
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
    // One meter and one description per name for every graylane package: `@graylane/queue`
    // counts decisions, invalid markers and fallbacks under the same names (core's table).
    const meter = api.metrics.getMeter(METER_NAME);
    const counter = (name: MetricName) => meter.createCounter(name, metricOptions(name));
    return {
      decisions: counter(METRIC_NAMES.decisions),
      invalidMarkers: counter(METRIC_NAMES.invalidMarkers),
      outbound: counter(METRIC_NAMES.outbound),
      fallbacks: counter(METRIC_NAMES.fallbacks),
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
 * A counter of graylane's meter outside the fixed set (propagation coverage's), kept in `cache`
 * and re-created when the registered MeterProvider changes, like the others. Created with core's
 * description of `name` when it has one (`description` is for a name outside the table).
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
      cache.counter = api.metrics
        .getMeter(METER_NAME)
        .createCounter(name, metricOptions(name) ?? { description });
    } catch {
      cache.counter = undefined;
    }
  }
  return cache.counter;
}
