import type { ConfigSnapshot } from '../store/types.js';
import { STATUS_MAX_ROWS } from './limits.js';
import { cleanCount, cleanText, cleanTime, scrubText } from './scrub.js';
import type {
  PropagationCoverage,
  StatusConfig,
  StatusCount,
  StatusFallback,
  StatusInvalidMarker,
  StatusSources,
  StatusSourcesLike,
  StatusStatsLike,
  StatusTraffic,
} from './types.js';

/** Counts rows dropped by the caps while one report is built. */
export interface RowBudget {
  omitted: number;
}

/**
 * The first {@link STATUS_MAX_ROWS} object rows of a list; the rest, and rows that are not
 * objects, are counted in `budget`.
 */
export function capRows<T, U>(list: unknown, budget: RowBudget, map: (row: T) => U): U[] {
  if (!Array.isArray(list)) return [];
  const rows = list.slice(0, STATUS_MAX_ROWS).filter((r) => typeof r === 'object' && r !== null);
  budget.omitted += list.length - rows.length;
  return (rows as T[]).map(map);
}

/** The config in force. */
export function configSection(snapshot: ConfigSnapshot): StatusConfig {
  const { config } = snapshot;
  return {
    hash: config.hash,
    version: snapshot.version,
    source: scrubText(snapshot.source),
    updatedAt: snapshot.updatedAt,
    versions: [...config.versions],
    default: config.default,
    rules: config.document.rules?.length ?? 0,
  };
}

const SOURCE_STATES: ReadonlySet<string> = new Set([
  'starting',
  'ready',
  'stale',
  'error',
  'stopped',
]);
const AGGREGATE_STATES: ReadonlySet<string> = new Set(['starting', 'ready', 'degraded', 'stopped']);

/** Sources with their staleness at `now`. */
export function sourcesSection(
  status: StatusSourcesLike,
  now: number,
  budget: RowBudget,
): StatusSources {
  return {
    state: closed(status.state, AGGREGATE_STATES),
    items: capRows<StatusSourcesLike['sources'][number], StatusSources['items'][number]>(
      status.sources,
      budget,
      ({ name, status: s }) => {
        const state = closed(s?.state, SOURCE_STATES);
        const lastSuccess = cleanTime(s?.lastSuccess);
        return {
          name: scrubText(name),
          state,
          lastSuccess,
          stalenessSeconds: staleness(state, lastSuccess, now),
          lastError: s?.lastError === undefined ? null : scrubText(s.lastError),
          fatal: s?.fatal === true,
        };
      },
    ),
  };
}

function closed(value: unknown, allowed: ReadonlySet<string>): string {
  return typeof value === 'string' && allowed.has(value) ? value : 'unknown';
}

function staleness(state: string, lastSuccess: number | null, now: number): number | null {
  if (state === 'ready') return 0;
  if (lastSuccess === null) return null;
  return Math.round(Math.max(0, now - lastSuccess) / 100) / 10;
}

/** Decisions by version (configured versions first), by reason, and the raw rows. */
export function trafficSection(
  stats: StatusStatsLike | undefined,
  versions: readonly string[],
  budget: RowBudget,
): StatusTraffic {
  const decisions = capRows<
    StatusStatsLike['decisions'][number],
    StatusTraffic['decisions'][number]
  >(stats?.decisions, budget, (r) => ({
    version: cleanText(r.version, 64),
    reason: cleanText(r.reason, 64),
    source: cleanText(r.source, 64),
    count: cleanCount(r.count),
  }));
  const byVersion = sum(decisions, (r) => r.version, versions);
  const total = decisions.reduce((n, r) => n + r.count, 0);
  return {
    total,
    byVersion: [...byVersion].slice(0, STATUS_MAX_ROWS).map(([version, count]) => ({
      version,
      count,
      share: total === 0 ? 0 : Math.round((count / total) * 10_000) / 10_000,
    })),
    byReason: [...sum(decisions, (r) => r.reason, [])]
      .slice(0, STATUS_MAX_ROWS)
      .map(([reason, count]) => ({
        reason,
        count,
      })),
    decisions,
  };
}

function sum<T extends { count: number }>(
  rows: readonly T[],
  key: (row: T) => string,
  first: readonly string[],
): Map<string, number> {
  const out = new Map<string, number>(first.map((k) => [k, 0]));
  for (const row of rows) out.set(key(row), (out.get(key(row)) ?? 0) + row.count);
  return out;
}

/** Lane fallbacks. */
export function fallbackRows(list: unknown, budget: RowBudget): StatusFallback[] {
  return capRows<StatusFallback, StatusFallback>(list, budget, (r) => ({
    wanted: cleanText(r.wanted, 64),
    served: cleanText(r.served, 64),
    count: cleanCount(r.count),
  }));
}

/** Invalid markers by carrier and reason. */
export function invalidRows(list: unknown, budget: RowBudget): StatusInvalidMarker[] {
  return capRows<StatusInvalidMarker, StatusInvalidMarker>(list, budget, (r) => ({
    source: cleanText(r.source, 64),
    reason: cleanText(r.reason, 64),
    count: cleanCount(r.count),
  }));
}

/** Outbound results as rows, in the record's key order. */
export function outboundRows(record: unknown, budget: RowBudget): StatusCount[] {
  if (typeof record !== 'object' || record === null) return [];
  return capRows<[string, unknown], StatusCount>(Object.entries(record), budget, ([k, v]) => ({
    result: cleanText(k, 64),
    count: cleanCount(v),
  }));
}

/** Propagation coverage rows, most missing first. */
export function propagationRows(list: unknown, budget: RowBudget): Required<PropagationCoverage>[] {
  const rows = capRows<PropagationCoverage, Required<PropagationCoverage>>(list, budget, (r) => ({
    destination: cleanText(r.destination),
    carried: cleanCount(r.carried),
    missing: cleanCount(r.missing),
    withheld: cleanCount(r.withheld),
    lastMissingSite:
      r.lastMissingSite === undefined || r.lastMissingSite === null
        ? null
        : scrubText(r.lastMissingSite),
  }));
  return rows.sort((a, b) => b.missing - a.missing);
}
