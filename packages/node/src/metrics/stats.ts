import { ignoredContextStats, type IgnoredContextStats } from '../context/ignored.js';
import { currentStore } from '../context/storage.js';
import { coverageState } from '../coverage/state.js';
import { coverageStats, type CoverageStats } from '../coverage/stats.js';
import type { DecisionReason, DecisionSource, MarkerRejection, MarkerSource } from '@graylane/core';
import { otelCounters, safeAdd } from './otel.js';
import {
  declaringConfigs,
  metricsState,
  type DeclaringStore,
  type OutboundResult,
} from './state.js';

export type { OutboundResult } from './state.js';

/** An in-process snapshot of graylane's counters. Labels come from closed sets only (I2). */
export interface GraylaneStats {
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
  readonly outbound: Readonly<Record<OutboundResult, number>>;
  readonly fallbacks: readonly { wanted: string; served: string; count: number }[];
  /** `runWithGray` / `bindGray` scopes ignored because their version was malformed (OTB-05). */
  readonly ignoredContexts: IgnoredContextStats;
  /** Propagation coverage (`installCoverage()`), or null when it is off. */
  readonly propagation: CoverageStats | null;
}

interface DecisionRow {
  readonly version: string;
  readonly reason: DecisionReason;
  readonly source: DecisionSource;
  count: number;
  /** The OTel attributes of this row, built once (counted per request without allocating). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Per-instance decision counters. Keys are built from closed vocabularies and config versions. */
export class DecisionCounters {
  /** version → reason → source → row: found per request with no string built (issue 20). */
  private readonly rows = new Map<string, Map<string, Map<string, DecisionRow>>>();
  /** Every row in the order first seen (the snapshot's order). */
  private readonly decisions: DecisionRow[] = [];
  /** The row counted last: most requests in a row decide alike. */
  private last: DecisionRow | undefined = undefined;
  private readonly invalid = new Map<
    string,
    { source: MarkerSource; reason: MarkerRejection; count: number }
  >();

  decision(version: string, reason: DecisionReason, source: DecisionSource): void {
    const last = this.last;
    if (
      last !== undefined &&
      last.version === version &&
      last.reason === reason &&
      last.source === source
    ) {
      last.count++;
      safeAdd(otelCounters()?.decisions, last.attributes);
      return;
    }
    let byReason = this.rows.get(version);
    if (byReason === undefined) this.rows.set(version, (byReason = new Map()));
    let bySource = byReason.get(reason);
    if (bySource === undefined) byReason.set(reason, (bySource = new Map()));
    let row = bySource.get(source);
    if (row === undefined) {
      row = { version, reason, source, count: 0, attributes: { version, reason, source } };
      bySource.set(source, row);
      this.decisions.push(row);
    }
    row.count++;
    this.last = row;
    safeAdd(otelCounters()?.decisions, row.attributes);
  }

  invalidMarker(source: MarkerSource, reason: MarkerRejection): void {
    const key = `${source}\u0000${reason}`;
    const row = this.invalid.get(key);
    if (row) row.count++;
    else this.invalid.set(key, { source, reason, count: 1 });
    safeAdd(otelCounters()?.invalidMarkers, { source, reason });
  }

  snapshot(): GraylaneStats {
    return {
      decisions: this.decisions.map(({ version, reason, source, count }) => ({
        version,
        reason,
        source,
        count,
      })),
      invalidMarkers: [...this.invalid.values()].map((r) => ({ ...r })),
      ...outboundStats(),
    };
  }
}

/** Counts one outbound attempt (process-wide: interceptors are not tied to one middleware). */
export function countOutbound(result: OutboundResult): void {
  const counts = metricsState().outbound as Record<OutboundResult, number>;
  counts[result] = (counts[result] ?? 0) + 1;
  safeAdd(otelCounters()?.outbound, { result });
}

/**
 * Counts one lane fallback (process-wide). Labels stay a closed set (I2): `wanted` is named only
 * when the lane's version was decided against a config (a middleware, `@graylane/queue`'s
 * lanes, a `Decision` from `decide()`) or, bound as a bare string (`runWithGray(v)` with `v`
 * from a message), when the config in force of one of this process's graylane middlewares
 * declares it; any other string counts as {@link UNDECLARED_VERSION}. Past
 * {@link MAX_FALLBACK_SERIES} pairs (many configs over a long life), a new pair counts as
 * {@link OTHER_FALLBACK}.
 */
export function countFallback(wanted: string, served: string): void {
  const map = metricsState().fallbacks;
  if (!declared(wanted)) wanted = UNDECLARED_VERSION;
  let key = `${wanted}\u0000${served}`;
  let row = map.get(key);
  if (row === undefined && map.size >= MAX_FALLBACK_SERIES) {
    wanted = OTHER_FALLBACK;
    key = `${wanted}\u0000${served}`;
    row = map.get(key);
  }
  if (row) row.count++;
  else map.set(key, { wanted, served, count: 1 });
  safeAdd(otelCounters()?.fallbacks, { wanted, served });
}

/**
 * Whether the version the current lane wants came from a config's decision, or a config in force
 * in this process declares it.
 */
function declared(wanted: string): boolean {
  const decision = currentStore()?.decision;
  if (decision !== undefined && decision.version === wanted && decision.reason !== 'context')
    return true;
  for (const config of declaringConfigs()) {
    try {
      if (config.hasVersion(wanted)) return true;
    } catch {
      // A config that cannot answer declares nothing.
    }
  }
  return false;
}

/** At most this many engines' config stores are asked (the most recently created ones). */
export const MAX_DECLARING_STORES = 32;

/**
 * @internal Remembers an engine's config store (weakly: a dropped middleware's store is
 * collected) as one whose versions a bare `runWithGray(v)` may be counted by. A store already
 * remembered is not added twice; past {@link MAX_DECLARING_STORES}, the oldest is forgotten.
 */
export function rememberDeclaringStore(store: DeclaringStore): void {
  const state = metricsState();
  const live = (state.declaring ?? []).filter((ref) => {
    const s = ref.deref();
    return s !== undefined && s !== store;
  });
  live.push(new WeakRef(store));
  state.declaring = live.slice(-MAX_DECLARING_STORES);
}

/** At most this many (wanted, served) fallback pairs are told apart. */
export const MAX_FALLBACK_SERIES = 64;
/**
 * `wanted` of a fallback whose version no config declared (`runWithGray('x')`). Parentheses are
 * outside the version grammar (`VERSION_PATTERN`), so no real version can be named like it.
 */
export const UNDECLARED_VERSION = '(undeclared)';
/** `wanted` of the pairs past {@link MAX_FALLBACK_SERIES}; outside the version grammar too. */
export const OTHER_FALLBACK = '(other)';

/**
 * The process-wide counters (the middleware's `stats()` includes them): outbound hops, lane
 * fallbacks, ignored `runWithGray` versions and, when `installCoverage()` is on, propagation
 * coverage.
 * One copy per process, whichever entry (ESM or CJS, `.` or an adapter subpath) counted.
 *
 * @example
 * ```ts
 * const { outbound } = outboundStats();
 * console.log(outbound.injected, outbound.skipped_host);
 * ```
 */
export function outboundStats(): Pick<
  GraylaneStats,
  'outbound' | 'fallbacks' | 'ignoredContexts' | 'propagation'
> {
  const state = metricsState();
  return {
    outbound: { ...state.outbound },
    fallbacks: [...state.fallbacks.values()].map((r) => ({ ...r })),
    ignoredContexts: ignoredContextStats(),
    propagation: coverageState().install === undefined ? null : coverageStats(),
  };
}
