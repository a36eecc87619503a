import { metrics } from '@opentelemetry/api';
import { METER_NAME } from '@graylane/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** A reader collected on demand, cumulative: each read is the total since registration. */
class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A real OTel SDK MeterProvider, registered globally, and a sum over what `@graylane/queue` recorded. */
export interface RecordedMetrics {
  /** The sum of metric `name`'s data points whose attributes include `where`. */
  sum(name: string, where?: Record<string, string>): Promise<number>;
  /** Unregisters the provider (once every user stopped). */
  stop(): Promise<void>;
}

let shared: { recorded: RecordedMetrics; users: number } | undefined;

/**
 * Registers the provider, or hands out the one already registered in this process (a global
 * MeterProvider is set once): it is unregistered when its last user stops.
 */
export function recordMetrics(): RecordedMetrics {
  if (shared) {
    shared.users++;
    return shared.recorded;
  }
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  if (!metrics.setGlobalMeterProvider(provider)) throw new Error('a MeterProvider is registered');
  const recorded: RecordedMetrics = {
    async sum(name, where = {}) {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics
        .filter((s) => s.scope.name === METER_NAME)
        .flatMap((s) => s.metrics)
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as readonly { value: unknown; attributes: object }[])
        .filter((p) =>
          Object.entries(where).every(
            ([k, v]) => (p.attributes as Record<string, unknown>)[k] === v,
          ),
        )
        .reduce((n, p) => n + Number(p.value), 0);
    },
    async stop() {
      if (!shared || --shared.users > 0) return;
      shared = undefined;
      metrics.disable();
      await provider.shutdown();
    },
  };
  shared = { recorded, users: 1 };
  return recorded;
}
