import { packageRequire } from '../package-require.js';
import { METER_NAME, METRIC_NAMES, metricOptions, type MetricName } from '@graylane/core';

/** The part of an OTel counter graylane uses. */
interface CounterLike {
  add(value: number, attributes?: Record<string, string>): void;
}

/** The counters recorded per message, under core's shared metric names. */
export interface QueueCounters {
  readonly decisions: CounterLike;
  readonly invalidMarkers: CounterLike;
  readonly fallbacks: CounterLike;
  readonly moved: CounterLike;
}

interface MetricsApiLike {
  metrics: {
    getMeter(name: string): {
      createCounter(name: string, options?: { description?: string; unit?: string }): CounterLike;
    };
  };
}

/** Where `@opentelemetry/api` registers its globals (every copy of major 1 shares it). */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

let api: MetricsApiLike | null | undefined;
let counters: QueueCounters | undefined;
let countersFor: unknown;

/**
 * The OTel counters when `@opentelemetry/api` (an optional peer) loads and a MeterProvider is
 * registered; undefined otherwise. Re-created when the registered provider changes, so a provider
 * the app registers after the first message still receives every later one (as `@graylane/node`
 * does). Never throws.
 */
export function otelCounters(): QueueCounters | undefined {
  if (api === undefined) {
    try {
      api = packageRequire()('@opentelemetry/api') as MetricsApiLike;
    } catch {
      api = null;
    }
  }
  if (api === null) return undefined;
  const provider = registeredProvider();
  if (provider === undefined) return undefined;
  if (counters === undefined || provider !== countersFor) {
    countersFor = provider;
    try {
      // The meter and descriptions every graylane package uses (core's table): the names shared
      // with `@graylane/node` are one metric to the SDK and one `# HELP` block in a scrape.
      const meter = api.metrics.getMeter(METER_NAME);
      const counter = (name: MetricName) => meter.createCounter(name, metricOptions(name));
      counters = {
        decisions: counter(METRIC_NAMES.decisions),
        invalidMarkers: counter(METRIC_NAMES.invalidMarkers),
        fallbacks: counter(METRIC_NAMES.fallbacks),
        moved: counter(METRIC_NAMES.queueMoved),
      };
    } catch {
      counters = undefined;
    }
  }
  return counters;
}

function registeredProvider(): unknown {
  const registry = (globalThis as { [OTEL_GLOBAL]?: { metrics?: unknown } })[OTEL_GLOBAL];
  return typeof registry === 'object' && registry !== null ? registry.metrics : undefined;
}

/** Adds `n` (default one), swallowing any error from a misbehaving SDK (I1). */
export function addTo(
  counter: CounterLike | undefined,
  attributes: Record<string, string>,
  n = 1,
): void {
  if (!counter) return;
  try {
    counter.add(n, attributes);
  } catch {
    // Telemetry never breaks a message.
  }
}
