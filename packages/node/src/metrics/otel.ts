import { createRequire } from 'node:module';
import { METRIC_NAMES } from '@graylane/core';

/** The part of an OTel counter graylane uses. */
export interface CounterLike {
  add(value: number, attributes?: Record<string, string>): void;
}

/** The OTel counters, one per metric name graylane records from Node. */
export interface OtelCounters {
  readonly decisions: CounterLike;
  readonly invalidMarkers: CounterLike;
  readonly outbound: CounterLike;
  readonly fallbacks: CounterLike;
}

interface MetricsApiLike {
  metrics: {
    getMeter(name: string): {
      createCounter(name: string, options?: { description?: string }): CounterLike;
    };
  };
}

let loaded: OtelCounters | null | undefined;

/**
 * Lazily loads `@opentelemetry/api` (an optional peer) on first use and creates the counters.
 * Returns undefined when it is not installed or fails to load; never throws. The API's global
 * meter provider is a no-op until the app registers an SDK, so this is safe either way.
 */
export function otelCounters(): OtelCounters | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  try {
    const require = createRequire(import.meta.url);
    const api = require('@opentelemetry/api') as MetricsApiLike;
    const meter = api.metrics.getMeter('@graylane/node');
    loaded = {
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
    loaded = null;
  }
  return loaded ?? undefined;
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
