import type { PropagationCoverage } from '@graylane/core';
import { coverageState } from './state.js';

/** A snapshot of propagation coverage (see {@link installCoverage}). */
export interface CoverageStats {
  /**
   * Per allowlisted destination (`scheme://host:port`, at most 50, then `other`), plus one
   * `not-allowlisted` row for every other destination; most missing first.
   */
  readonly destinations: readonly Required<PropagationCoverage>[];
  /** Calls made with no lane bound while an inbound request was in flight. */
  readonly unbound: number;
  /** Where the last of those was made (the app's frames), or null. */
  readonly lastUnboundSite: string | null;
  /** Log lines not written because 1,000 call sites had been logged already. */
  readonly suppressedLogs: number;
}

/**
 * Propagation coverage counted so far in this process (kept after uninstall; all zero when
 * coverage was never installed). One copy per process, whichever entry counted.
 *
 * @example
 * ```ts
 * import { coverageStats } from '@graylane/node';
 *
 * const broken = coverageStats().destinations.filter((row) => row.missing > 0);
 * console.table(broken);
 * ```
 */
export function coverageStats(): CoverageStats {
  const state = coverageState();
  const destinations = [...state.rows.values()]
    .map((r) => ({
      destination: r.destination,
      carried: r.carried,
      missing: r.missing,
      withheld: r.withheld,
      lastMissingSite: r.lastMissingSite ?? null,
    }))
    .sort((a, b) => b.missing - a.missing);
  return {
    destinations,
    unbound: state.unbound,
    lastUnboundSite: state.lastUnboundSite ?? null,
    suppressedLogs: state.suppressedLogs,
  };
}

/**
 * @internal The status page's propagation rows: undefined ("not reported") while coverage was
 * never installed in this process.
 */
export function coverageReported(): readonly Required<PropagationCoverage>[] | undefined {
  const state = coverageState();
  return state.install === undefined && state.rows.size === 0
    ? undefined
    : coverageStats().destinations;
}
