import { METRIC_NAMES, type UpdateResult } from '@graylane/core';

/** The slice of an OTel `Meter` the sources use (structural, so any API copy works). */
export interface MeterLike {
  createCounter(
    name: string,
    options?: { description?: string; unit?: string },
  ): { add(value: number, attributes?: Record<string, string>): void };
  createObservableGauge(
    name: string,
    options?: { description?: string; unit?: string },
  ): {
    addCallback(
      callback: (result: {
        observe(value: number, attributes?: Record<string, string>): void;
      }) => void,
    ): void;
  };
}

/** One source's staleness reading. */
export interface StalenessReading {
  readonly source: string;
  /** Seconds since the source last succeeded; absent when it never did. */
  readonly seconds: number | undefined;
}

/** Reload counters and the staleness gauge. Every method is a no-op without a meter. */
export interface SourceMetrics {
  reload(source: string, result: UpdateResult['status']): void;
  /** Registers the gauge callback; it is read at each collection. */
  staleness(read: () => readonly StalenessReading[]): void;
}

/**
 * Builds {@link SourceMetrics} on a meter: `graylane.config.reloads{source,result}` and
 * `graylane.config.staleness{source}` (seconds).
 *
 * @example
 * ```ts
 * const metrics = createSourceMetrics(metricsApi.getMeter('my-app'));
 * ```
 */
export function createSourceMetrics(meter: MeterLike | undefined): SourceMetrics {
  if (!meter) return { reload: () => undefined, staleness: () => undefined };
  const reloads = meter.createCounter(METRIC_NAMES.reloads, {
    description: 'Config updates offered by a rule source, by result',
  });
  const gauge = meter.createObservableGauge(METRIC_NAMES.staleness, {
    description: 'Seconds since the rule source last succeeded',
    unit: 's',
  });
  return {
    reload: (source, result) => reloads.add(1, { source, result }),
    staleness(read) {
      gauge.addCallback((result) => {
        for (const r of read())
          if (r.seconds !== undefined) result.observe(r.seconds, { source: r.source });
      });
    },
  };
}

/**
 * Loads `@opentelemetry/api` if the app has it and returns a meter; `undefined` otherwise.
 * Optional peer: never required, never thrown from.
 */
export async function loadOtelMeter(name = '@graylane/node'): Promise<MeterLike | undefined> {
  try {
    const api = await import('@opentelemetry/api');
    return api.metrics.getMeter(name) as unknown as MeterLike;
  } catch {
    return undefined;
  }
}
