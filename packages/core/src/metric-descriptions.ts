import type { METRIC_NAMES } from './metrics.js';

/**
 * The one OTel meter (instrumentation scope) every graylane package records on: the exporter's
 * `otel_scope_name`. One scope, because the OpenTelemetry JS Prometheus exporter of the 2.x line
 * (`@opentelemetry/exporter-prometheus` 0.2xx, the one Node 20 runs) writes a `# HELP`/`# TYPE`
 * block per scope: `graylane.decisions` counted by `@graylane/node` and `@graylane/queue` on two
 * meters was two blocks of one name, which Prometheus' text parser refuses. The SDK merges
 * instruments of one name on one meter when their descriptors agree: {@link METRIC_DESCRIPTIONS}.
 */
export const METER_NAME = 'graylane';

/** A metric name graylane records (a value of {@link METRIC_NAMES}). */
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** What every package creating an instrument of a name gives the SDK, so they agree. */
export interface MetricDescription {
  /** `counter`: a monotonic `createCounter`; `gauge`: a `createObservableGauge`. */
  readonly kind: 'counter' | 'gauge';
  /** The instrument's description: the Prometheus `# HELP` text. */
  readonly description: string;
  /** UCUM unit; absent for counts. */
  readonly unit?: string;
}

/**
 * One row per metric name: the kind, description and unit every instrument of that name is
 * created with, wherever it is created. Keyed by the names as literals, not `[METRIC_NAMES.x]`:
 * a computed key keeps the whole table in every bundle that imports core (browser, Web), used or
 * not; the type holds the keys to {@link METRIC_NAMES}. Two instruments of one name that differ in kind or unit
 * are two metrics to the SDK; a description that differs is a conflict it warns about.
 */
export const METRIC_DESCRIPTIONS: { readonly [N in MetricName]: MetricDescription } = {
  'graylane.decisions': {
    kind: 'counter',
    description: 'Requests and messages bound to a version, by version, reason and source',
  },
  'graylane.markers.invalid': {
    kind: 'counter',
    description: 'Markers present but ignored, by carrier and reason',
  },
  'graylane.outbound': {
    kind: 'counter',
    description: 'Outbound calls inside a lane, by what happened to the marker',
  },
  'graylane.propagation': {
    kind: 'counter',
    description: 'Outbound HTTP calls made inside a lane, by whether the marker was carried',
  },
  'graylane.config.reloads': {
    kind: 'counter',
    description: 'Loads of a rule source, by result',
  },
  'graylane.config.staleness': {
    kind: 'gauge',
    description: 'Seconds since the rule source last succeeded',
    unit: 's',
  },
  'graylane.lane.fallbacks': {
    kind: 'counter',
    description: 'Requests and messages served by the fallback lane, by wanted and served version',
  },
  'graylane.queue.moved': {
    kind: 'counter',
    description: 'Messages of a lane that ran in the default lane instead, by lane and how',
  },
};

/** What `createCounter` / `createObservableGauge` take from a {@link MetricDescription}. */
export interface MetricOptions {
  description: string;
  unit?: string;
}

/**
 * The options to create metric `name`'s instrument with (`meter.createCounter(name, options)`),
 * from {@link METRIC_DESCRIPTIONS}; `undefined` for a name graylane does not record.
 *
 * @example
 * ```ts
 * const decisions = meter.createCounter(
 *   METRIC_NAMES.decisions,
 *   metricOptions(METRIC_NAMES.decisions),
 * );
 * ```
 */
export function metricOptions(name: MetricName): MetricOptions;
export function metricOptions(name: string): MetricOptions | undefined;
export function metricOptions(name: string): MetricOptions | undefined {
  if (!Object.hasOwn(METRIC_DESCRIPTIONS, name)) return undefined;
  const row = METRIC_DESCRIPTIONS[name as MetricName];
  return row.unit === undefined
    ? { description: row.description }
    : { description: row.description, unit: row.unit };
}
