import type {
  DecisionReason,
  DecisionSource,
  InboundCounters,
  MarkerRejection,
  MarkerSource,
  ReloadResult,
} from '@graylane/core';
import { outboundStats, type OutboundResult } from './outbound.js';

/** An in-process snapshot of one engine's counters. Labels come from closed sets only (I2). */
export interface WebGraylaneStats {
  readonly decisions: readonly {
    version: string;
    reason: DecisionReason;
    source: DecisionSource;
    count: number;
  }[];
  readonly invalidMarkers: readonly {
    source: MarkerSource;
    reason: MarkerRejection;
    count: number;
  }[];
  /** Process-wide: hops judged by `withGray`. */
  readonly outbound: Readonly<Record<OutboundResult, number>>;
  /**
   * Reloads of the `rules` source by result: the store's answer to a document, or `failed` (a
   * read that brought none). A `304` brings nothing to count.
   */
  readonly reloads: readonly { source: string; result: ReloadResult; count: number }[];
}

/** The metrics hooks of the Web engine: core's decision counters, and the rules source's reloads. */
export interface WebCounters extends InboundCounters {
  /** Once per refresh of the `rules` source that ended in a result (what Node counts as `graylane.config.reloads`). */
  reload?(source: string, result: ReloadResult): void;
}

/**
 * @internal Per-engine decision counters (core's `InboundCounters`). Keys are built from closed
 * vocabularies and config versions, so cardinality is bounded (I2). `forward` receives the same
 * increments (the app's metrics hook); its errors are swallowed.
 */
export class DecisionCounters implements InboundCounters {
  private readonly decisions = new Map<
    string,
    { version: string; reason: DecisionReason; source: DecisionSource; count: number }
  >();
  private readonly invalid = new Map<
    string,
    { source: MarkerSource; reason: MarkerRejection; count: number }
  >();

  private readonly reloads = new Map<
    string,
    { source: string; result: ReloadResult; count: number }
  >();

  constructor(private readonly forward?: WebCounters | undefined) {}

  reload(source: string, result: ReloadResult): void {
    const key = `${source}\u0000${result}`;
    const row = this.reloads.get(key);
    if (row) row.count++;
    // Source names are the app's own (a handful); past 64 rows a new one is not kept (I2).
    else if (this.reloads.size < 64) this.reloads.set(key, { source, result, count: 1 });
    this.tell(() => this.forward?.reload?.(source, result));
  }

  decision(version: string, reason: DecisionReason, source: DecisionSource): void {
    const key = `${version}\u0000${reason}\u0000${source}`;
    const row = this.decisions.get(key);
    if (row) row.count++;
    else this.decisions.set(key, { version, reason, source, count: 1 });
    this.tell(() => this.forward?.decision(version, reason, source));
  }

  invalidMarker(source: MarkerSource, reason: MarkerRejection): void {
    const key = `${source}\u0000${reason}`;
    const row = this.invalid.get(key);
    if (row) row.count++;
    else this.invalid.set(key, { source, reason, count: 1 });
    this.tell(() => this.forward?.invalidMarker(source, reason));
  }

  private tell(fn: () => void): void {
    try {
      fn();
    } catch {
      // A metrics hook never breaks a request (I1).
    }
  }

  snapshot(): WebGraylaneStats {
    return {
      decisions: [...this.decisions.values()].map((r) => ({ ...r })),
      invalidMarkers: [...this.invalid.values()].map((r) => ({ ...r })),
      outbound: outboundStats(),
      reloads: [...this.reloads.values()].map((r) => ({ ...r })),
    };
  }
}
