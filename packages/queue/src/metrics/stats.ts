import type { DecisionReason, DecisionSource, MarkerRejection } from '@graylane/core';
import { addTo, otelCounters } from './otel.js';

/** Where a marker was read from on a message. */
export type MessageMarkerSource = 'header' | 'baggage';

/** Outcome of putting the marker on one outgoing message. */
export type CarryResult =
  'injected' | 'skipped_no_lane' | 'skipped_caller' | 'skipped_invalid' | 'skipped_shape';

/** An in-process snapshot of the message counters. Labels come from closed sets only (I2). */
export interface QueueStats {
  /** One row per (version, reason, source): how each consumed message was bound. */
  readonly decisions: readonly {
    version: string;
    reason: DecisionReason;
    source: DecisionSource;
    count: number;
  }[];
  /** Markers present on a message but ignored, by carrier and reason. */
  readonly invalidMarkers: readonly {
    source: MessageMarkerSource;
    reason: MarkerRejection;
    count: number;
  }[];
  /** Messages whose lane had no live consumer, served by the fallback lane. */
  readonly fallbacks: readonly { wanted: string; served: string; count: number }[];
  /** Producer side: what happened to the marker of each outgoing message. */
  readonly carried: Readonly<Record<CarryResult, number>>;
  /** Messages moved from a lane with no live consumer to the fallback destination. */
  readonly drained: number;
  /**
   * RabbitMQ: messages the broker returned from a lane's queue that was gone (auto-deleted,
   * expired, deleted) and that were published to the base queue instead.
   */
  readonly rerouted: number;
  /** Liveness probes that failed (the last known answer was kept). */
  readonly probeErrors: number;
  /**
   * Drain batches that failed (the loop went on, and the lane kept its messages), and messages a
   * drain could not move (NATS: too large to publish with the drain's headers). A number that
   * keeps growing is a lane the default lane does not empty: see the router's `onDrainError`.
   */
  readonly drainErrors: number;
  /**
   * NATS: messages a dead lane's durable gave up on (delivered its `max_deliver` times, never
   * acked) that the drain left on the lane, each counted once per drain: they are never run on
   * another lane; the app's own dead-letter handling (the `MAX_DELIVERIES` advisory) owns them.
   */
  readonly maxDeliveriesLeft: number;
}

interface Registry {
  decisions: Map<
    string,
    { version: string; reason: DecisionReason; source: DecisionSource; count: number }
  >;
  invalid: Map<string, { source: MessageMarkerSource; reason: MarkerRejection; count: number }>;
  fallbacks: Map<string, { wanted: string; served: string; count: number }>;
  carried: Record<CarryResult, number>;
  drained: number;
  /** Optional: a registry an older copy of this package made in the same process lacks it. */
  rerouted?: number;
  probeErrors: number;
  /** Optional: a registry an older copy of this package made in the same process lacks it. */
  drainErrors?: number;
  /** Optional: a registry an older copy of this package made in the same process lacks it. */
  maxDeliveriesLeft?: number;
}

const KEY = Symbol.for('@graylane/queue.stats');

/** One registry per process, shared by the ESM and CJS builds and every subpath entry. */
function registry(): Registry {
  const g = globalThis as { [KEY]?: Registry };
  g[KEY] ??= {
    decisions: new Map(),
    invalid: new Map(),
    fallbacks: new Map(),
    carried: {
      injected: 0,
      skipped_no_lane: 0,
      skipped_caller: 0,
      skipped_invalid: 0,
      skipped_shape: 0,
    },
    drained: 0,
    rerouted: 0,
    probeErrors: 0,
    drainErrors: 0,
    maxDeliveriesLeft: 0,
  };
  return g[KEY];
}

/** Adds one to the row `key` of `map`, creating it from `labels` (closed-set values only, I2). */
function bump<L extends object>(
  map: Map<string, L & { count: number }>,
  key: string,
  labels: L,
): void {
  const row = map.get(key);
  if (row) row.count++;
  else map.set(key, { ...labels, count: 1 });
}

/** @internal */
export function countDecision(
  version: string,
  reason: DecisionReason,
  source: DecisionSource,
): void {
  bump(registry().decisions, `${version}\u0000${reason}\u0000${source}`, {
    version,
    reason,
    source,
  });
  addTo(otelCounters()?.decisions, { version, reason, source });
}

/** @internal */
export function countInvalid(source: MessageMarkerSource, reason: MarkerRejection): void {
  bump(registry().invalid, `${source}\u0000${reason}`, { source, reason });
  addTo(otelCounters()?.invalidMarkers, { source, reason });
}

/** @internal */
export function countFallback(wanted: string, served: string): void {
  bump(registry().fallbacks, `${wanted}\u0000${served}`, { wanted, served });
  addTo(otelCounters()?.fallbacks, { wanted, served });
}

/** @internal */
export function countCarry(result: CarryResult): void {
  registry().carried[result]++;
}

/** @internal `n` messages of `lane` (a declared version) moved by the drain. */
export function countDrained(n: number, lane: string): void {
  if (n === 0) return;
  registry().drained += n;
  addTo(otelCounters()?.moved, { lane, how: 'drained' }, n);
}

/** @internal One message of `lane` (a declared version) rerouted to the base queue. */
export function countRerouted(lane: string): void {
  const r = registry();
  r.rerouted = (r.rerouted ?? 0) + 1;
  addTo(otelCounters()?.moved, { lane, how: 'rerouted' });
}

/** @internal */
export function countProbeError(): void {
  registry().probeErrors++;
}

/** @internal One failed drain batch, or one message a drain could not move. */
export function countDrainError(): void {
  const r = registry();
  r.drainErrors = (r.drainErrors ?? 0) + 1;
}

/** @internal One message a lane's durable gave up on (`max_deliver`), left on its lane by the drain. */
export function countMaxDeliveriesLeft(): void {
  const r = registry();
  r.maxDeliveriesLeft = (r.maxDeliveriesLeft ?? 0) + 1;
}

/**
 * The process-wide message counters: decisions, ignored markers, lane fallbacks, what producers
 * carried and what fallback consumers drained. The same decisions, invalid markers, fallbacks and
 * messages moved off their lane (drained, rerouted) are recorded through `@opentelemetry/api`
 * under core's `METRIC_NAMES` when it is installed.
 *
 * @example
 * ```ts
 * import { queueStats } from '@graylane/queue';
 *
 * const { fallbacks, invalidMarkers } = queueStats();
 * console.log(fallbacks, invalidMarkers);
 * ```
 */
export function queueStats(): QueueStats {
  const r = registry();
  return {
    decisions: [...r.decisions.values()].map((row) => ({ ...row })),
    invalidMarkers: [...r.invalid.values()].map((row) => ({ ...row })),
    fallbacks: [...r.fallbacks.values()].map((row) => ({ ...row })),
    carried: { ...r.carried },
    drained: r.drained,
    rerouted: r.rerouted ?? 0,
    probeErrors: r.probeErrors,
    drainErrors: r.drainErrors ?? 0,
    maxDeliveriesLeft: r.maxDeliveriesLeft ?? 0,
  };
}
