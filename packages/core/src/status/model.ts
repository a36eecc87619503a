import { GraylaneError } from '../errors.js';
import type { ConfigStore } from '../store/types.js';
import { createReloadHistory } from './history.js';
import { STATUS_HISTORY_DEFAULT, STATUS_HISTORY_MAX, STATUS_MAX_PROBLEMS } from './limits.js';
import { cleanText, scrubText } from './scrub.js';
import {
  configSection,
  fallbackRows,
  invalidRows,
  outboundRows,
  propagationRows,
  sourcesSection,
  trafficSection,
  type RowBudget,
} from './sections.js';
import type {
  PropagationCoverage,
  StatusReport,
  StatusSourcesLike,
  StatusStatsLike,
} from './types.js';

/** What the status model reads. Only `store` is required; every other part is optional. */
export interface StatusModelOptions {
  /** The config store in force (`createGraylane(...).store`). */
  readonly store: ConfigStore;
  /** Decision, invalid-marker, outbound and fallback counters (`gray.stats`). */
  readonly stats?: (() => StatusStatsLike) | undefined;
  /** Rule sources (`startSources(...)`): anything with a `status()` of that shape. */
  readonly sources?: { status(): StatusSourcesLike } | undefined;
  /** Propagation coverage per destination, when the platform measures it. */
  readonly propagation?: (() => readonly PropagationCoverage[] | undefined) | undefined;
  /** Reload entries kept, newest first. Default 20, at most 200. */
  readonly historyLimit?: number | undefined;
  /** Clock for `generatedAt`, staleness and rejection times. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** The platform-neutral status model: a report on demand, and the reload history it keeps. */
export interface StatusModel {
  /** Builds the report from the live counters. Never throws. */
  report(): StatusReport;
  /** Stops listening to the store. Idempotent. */
  close(): void;
}

/**
 * Creates the status model. It subscribes to the store's events at once, so create it at
 * startup to see every reload. Throws only on bad options.
 *
 * @example
 * ```ts
 * const model = createStatusModel({ store: gray.store, stats: () => gray.stats(), sources });
 * console.log(model.report().config.hash);
 * ```
 */
export function createStatusModel(options: StatusModelOptions): StatusModel {
  const limit = historyLimit(options.historyLimit);
  const now = options.now ?? Date.now;
  const history = createReloadHistory(options.store, limit, now);
  return {
    report: () => buildReport(options, history.entries(), now),
    close: () => history.close(),
  };
}

function historyLimit(value: number | undefined): number {
  if (value === undefined) return STATUS_HISTORY_DEFAULT;
  if (!Number.isInteger(value) || value < 1 || value > STATUS_HISTORY_MAX) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `status historyLimit must be an integer from 1 to ${STATUS_HISTORY_MAX}, got ${String(value)}`,
    );
  }
  return value;
}

function buildReport(
  options: StatusModelOptions,
  reloads: StatusReport['reloads'],
  now: () => number,
): StatusReport {
  const problems: string[] = [];
  const attempt = <T>(what: string, fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (err) {
      if (problems.length < STATUS_MAX_PROBLEMS)
        problems.push(scrubText(`${what} threw: ${cleanText(err, 400)}`));
      return fallback;
    }
  };
  const at = attempt('clock', now, 0);
  const budget: RowBudget = { omitted: 0 };
  const snapshot = options.store.get();
  const stats = options.stats ? attempt('stats()', options.stats, undefined) : undefined;
  // Without counters the traffic part reads zero: say why, so an unwired page is not taken for
  // an idle app.
  if (!options.stats)
    problems.push(
      "no stats: decisions, fallbacks and invalid markers are not counted here (pass graylane's stats)",
    );
  const sources = options.sources;
  const propagation = options.propagation;
  return {
    schema: 'graylane.status.v1',
    generatedAt: at,
    config: configSection(snapshot),
    sources: sources
      ? attempt('sources.status()', () => sourcesSection(sources.status(), at, budget), null)
      : null,
    traffic: attempt('stats()', () => trafficSection(stats, snapshot.config.versions, budget), {
      total: 0,
      byVersion: [],
      byReason: [],
      decisions: [],
    }),
    fallbacks: attempt('stats()', () => fallbackRows(stats?.fallbacks, budget), []),
    invalidMarkers: attempt('stats()', () => invalidRows(stats?.invalidMarkers, budget), []),
    outbound: stats ? attempt('stats()', () => outboundRows(stats.outbound, budget), null) : null,
    propagation: propagation
      ? attempt('propagation()', () => rowsOrNull(propagation(), budget), null)
      : null,
    reloads,
    omittedRows: budget.omitted,
    problems,
  };
}

function rowsOrNull(list: unknown, budget: RowBudget): StatusReport['propagation'] {
  return list === undefined || list === null ? null : propagationRows(list, budget);
}
