import {
  GraylaneError,
  METER_NAME,
  METRIC_NAMES,
  metricOptions,
  scrubText,
  type UpdateResult,
} from '@graylane/core';

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
    addCallback(callback: GaugeCallback): void;
    /** OTel API ≥ 1.3; without it a stopped handle's callback reads no source and observes nothing. */
    removeCallback?(callback: GaugeCallback): void;
  };
}

/** An observable gauge's callback. */
export type GaugeCallback = (result: {
  observe(value: number, attributes?: Record<string, string>): void;
}) => void;

/** One source's staleness reading. */
export interface StalenessReading {
  readonly source: string;
  /**
   * Seconds since the source last succeeded — or, if it never did, since it was started; absent
   * for a reading not to be observed.
   */
  readonly seconds: number | undefined;
}

/**
 * Every `result` of `graylane.config.reloads`: the closed list of `UpdateResult['status']` (the
 * store's answer to a document), and `failed` (a load attempt that offered the store none:
 * `reportFailedLoad`). Each source's series start at 0 for all of them, so the first `rejected`
 * or `failed` after a scrape at 0 is an increase a Prometheus `increase()` sees (a series born at 1
 * has none).
 */
export const RELOAD_RESULTS = ['changed', 'unchanged', 'stale', 'rejected', 'failed'] as const;
/** One `result` of `graylane.config.reloads`. */
export type ReloadResult = (typeof RELOAD_RESULTS)[number];
// Compile-time: the list holds every status the store can return, and `failed`, nothing else.
type Missing = Exclude<UpdateResult['status'] | 'failed', ReloadResult>;
const exhaustive: [Missing] extends [never] ? true : never = true;
void exhaustive;

/** Reload counters and the staleness gauge. Every method is a no-op without a meter. */
export interface SourceMetrics {
  reload(source: string, result: ReloadResult): void;
  /**
   * Creates a source's reload series at 0, one per {@link RELOAD_RESULTS} entry: a counter series
   * first exported at 1 hides its first increase from `increase()` / `rate()`.
   */
  declare?(source: string): void;
  /**
   * Registers the gauge callback, read at each collection, and returns what removes it (the
   * handle's `stop()`: a stopped source must not keep exporting a growing staleness).
   */
  staleness(read: () => readonly StalenessReading[]): () => void;
}

/**
 * Builds {@link SourceMetrics} on a meter: `graylane.config.reloads{source,result}` and
 * `graylane.config.staleness{source}` (seconds: since the last success, or since the start for a
 * source that never succeeded). Source names are scrubbed of credentials like
 * the status page's (a name may be a URL with `user:pass@`).
 *
 * @example
 * ```ts
 * const metrics = createSourceMetrics(metricsApi.getMeter('my-app'));
 * ```
 */
export function createSourceMetrics(meter: MeterLike | undefined): SourceMetrics {
  if (!meter)
    return { reload: () => undefined, declare: () => undefined, staleness: () => () => undefined };
  if (
    typeof meter.createCounter !== 'function' ||
    typeof meter.createObservableGauge !== 'function'
  )
    throw new GraylaneError('INVALID_OPTIONS', 'createSourceMetrics: meter must be an OTel Meter');
  const reloads = meter.createCounter(METRIC_NAMES.reloads, metricOptions(METRIC_NAMES.reloads));
  const gauge = meter.createObservableGauge(
    METRIC_NAMES.staleness,
    metricOptions(METRIC_NAMES.staleness),
  );
  return {
    reload: (source, result) => reloads.add(1, { source: scrubText(source), result }),
    declare(source) {
      const label = scrubText(source);
      for (const result of RELOAD_RESULTS) reloads.add(0, { source: label, result });
    },
    staleness(read) {
      let reader: typeof read | undefined = read;
      // After stop(): the names to report 0 for, once (see below); then nothing.
      let stopped: readonly string[] = [];
      const remove = (): void => {
        try {
          gauge.removeCallback?.(callback);
        } catch {
          // A metrics SDK that fails here must not fail stop(); the callback observes nothing.
        }
      };
      const callback: GaugeCallback = (result) => {
        if (reader === undefined) {
          for (const source of stopped) result.observe(0, { source });
          stopped = [];
          // Not from inside the SDK's loop over its callbacks.
          queueMicrotask(remove);
          return;
        }
        for (const r of reader())
          if (r.seconds !== undefined) result.observe(r.seconds, { source: scrubText(r.source) });
      };
      gauge.addCallback(callback);
      return () => {
        if (reader === undefined) return;
        // The OTel JS SDK keeps exporting a cumulative gauge series at its last value once its
        // callback is gone, so the stopped sources are observed at 0 once — a stopped source is
        // not stale — and then the callback is removed. Only their names stay until that
        // collection: the handle and its sources are no longer reachable from the gauge.
        const observed = reader().filter((r) => r.seconds !== undefined);
        stopped = [...new Set(observed.map((r) => scrubText(r.source)))];
        reader = undefined;
        if (stopped.length === 0) remove();
      };
    },
  };
}

/**
 * Loads `@opentelemetry/api` if the app has it and returns a meter; `undefined` otherwise.
 * Optional peer: never required, never thrown from.
 */
export async function loadOtelMeter(name = METER_NAME): Promise<MeterLike | undefined> {
  try {
    const api = await import('@opentelemetry/api');
    return api.metrics.getMeter(name) as unknown as MeterLike;
  } catch {
    return undefined;
  }
}
