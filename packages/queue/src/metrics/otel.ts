import { createRequire } from 'node:module';
import { METRIC_NAMES } from '@graylane/core';

/** The part of an OTel counter graylane uses. */
interface CounterLike {
  add(value: number, attributes?: Record<string, string>): void;
}

/** The counters recorded per message, under core's shared metric names. */
export interface QueueCounters {
  readonly decisions: CounterLike;
  readonly invalidMarkers: CounterLike;
  readonly fallbacks: CounterLike;
}

interface MetricsApiLike {
  metrics: { getMeter(name: string): { createCounter(name: string): CounterLike } };
}

let loaded: QueueCounters | null | undefined;

/**
 * The OTel counters, created on first use when `@opentelemetry/api` (an optional peer) loads;
 * undefined otherwise. The API's meter is a no-op until the app registers an SDK. Never throws.
 */
export function otelCounters(): QueueCounters | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  try {
    const api = createRequire(import.meta.url)('@opentelemetry/api') as MetricsApiLike;
    const meter = api.metrics.getMeter('@graylane/queue');
    loaded = {
      decisions: meter.createCounter(METRIC_NAMES.decisions),
      invalidMarkers: meter.createCounter(METRIC_NAMES.invalidMarkers),
      fallbacks: meter.createCounter(METRIC_NAMES.fallbacks),
    };
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
}

/** Adds one, swallowing any error from a misbehaving SDK (I1). */
export function addOne(counter: CounterLike | undefined, attributes: Record<string, string>): void {
  if (!counter) return;
  try {
    counter.add(1, attributes);
  } catch {
    // Telemetry never breaks a message.
  }
}
