import type { SourceStatus } from '../store/types.js';

/**
 * The status report: what the JSON endpoint returns and the HTML page shows. Every key is always
 * present (`null` when a part is not wired), so the shape is stable; `STATUS_REPORT_SCHEMA`
 * describes it. Times are epoch milliseconds. No key, token, credential or request input is ever
 * part of it: counters carry closed labels (I2), free-form strings are cut and scrubbed.
 */
export interface StatusReport {
  readonly schema: 'graylane.status.v1';
  readonly generatedAt: number;
  readonly config: StatusConfig;
  /** `null` when no sources handle was given. */
  readonly sources: StatusSources | null;
  readonly traffic: StatusTraffic;
  readonly fallbacks: readonly StatusFallback[];
  readonly invalidMarkers: readonly StatusInvalidMarker[];
  /** Outbound injection results (`injected`, `skipped_host`, …); `null` without stats. */
  readonly outbound: readonly StatusCount[] | null;
  /** Propagation coverage per destination; `null` when not reported. */
  readonly propagation: readonly PropagationCoverage[] | null;
  /** Newest first, bounded. */
  readonly reloads: readonly ReloadEntry[];
  /** Rows left out of the tables above because of the row caps. */
  readonly omittedRows: number;
  /** Callbacks that threw while the report was built (scrubbed), so a broken part is visible. */
  readonly problems: readonly string[];
}

/** The config in force. */
export interface StatusConfig {
  /** Hash of the canonical config JSON: equal hashes, equal configs (I6). */
  readonly hash: string;
  /** Store version: starts at 1, bumped only on a real change. */
  readonly version: number;
  /** Which source supplied it (`embedded`, `file`, `http`, `etcd`, `backup`, …). */
  readonly source: string;
  readonly updatedAt: number;
  readonly versions: readonly string[];
  readonly default: string;
  /** Rules in the document (disabled ones included). */
  readonly rules: number;
}

/** Rule sources and their staleness. */
export interface StatusSources {
  /** `ready`, `degraded`, `starting`, `stopped` (or `unknown`). */
  readonly state: string;
  readonly items: readonly StatusSourceItem[];
}

/** One rule source. */
export interface StatusSourceItem {
  readonly name: string;
  /** `starting`, `ready`, `stale`, `error`, `stopped` (or `unknown`). */
  readonly state: string;
  readonly lastSuccess: number | null;
  /** 0 while ready; seconds since the last success otherwise; `null` if it never succeeded. */
  readonly stalenessSeconds: number | null;
  readonly lastError: string | null;
  readonly fatal: boolean;
}

/** Decisions, cumulative since the engine started. */
export interface StatusTraffic {
  readonly total: number;
  /** Configured versions first (in config order), then any other version counted. */
  readonly byVersion: readonly {
    readonly version: string;
    readonly count: number;
    readonly share: number;
  }[];
  readonly byReason: readonly { readonly reason: string; readonly count: number }[];
  readonly decisions: readonly {
    readonly version: string;
    readonly reason: string;
    readonly source: string;
    readonly count: number;
  }[];
}

/** A lane fallback: `wanted` had no implementation here, `served` answered. */
export interface StatusFallback {
  readonly wanted: string;
  readonly served: string;
  readonly count: number;
}

/** Markers present but ignored, by carrier and reason. */
export interface StatusInvalidMarker {
  readonly source: string;
  readonly reason: string;
  readonly count: number;
}

/** A named count. */
export interface StatusCount {
  readonly result: string;
  readonly count: number;
}

/**
 * Propagation coverage of one destination while a lane was bound: `carried` left with the
 * marker, `missing` was allowlisted but left without it (a broken link), `withheld` was not
 * allowlisted. `lastMissingSite` is a short call site of the last miss.
 */
export interface PropagationCoverage {
  readonly destination: string;
  readonly carried: number;
  readonly missing: number;
  readonly withheld: number;
  readonly lastMissingSite?: string | null | undefined;
}

/** One entry of the reload history. */
export type ReloadEntry = ReloadChange | ReloadRejection;

/** A config change that went into force, with its rule-level diff. */
export interface ReloadChange {
  readonly type: 'change';
  readonly at: number;
  readonly source: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly previousHash: string;
  readonly hash: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
  /** True when `versions`, `default` or `caseInsensitive` changed. */
  readonly settingsChanged: boolean;
  /** Rule ids left out of the three lists (STATUS_MAX_RULE_IDS each). */
  readonly omittedRuleIds: number;
}

/** Rejected updates; consecutive identical rejections are folded into one entry. */
export interface ReloadRejection {
  readonly type: 'rejected';
  readonly at: number;
  readonly lastAt: number;
  readonly count: number;
  readonly source: string;
  readonly code: string;
  readonly message: string;
}

/** The counters the status page reads: `createGraylane(...).stats()` (Node) or the Web engine's. */
export interface StatusStatsLike {
  readonly decisions: readonly {
    readonly version: string;
    readonly reason: string;
    readonly source: string;
    readonly count: number;
  }[];
  readonly invalidMarkers: readonly {
    readonly source: string;
    readonly reason: string;
    readonly count: number;
  }[];
  readonly outbound?: Readonly<Record<string, number>> | undefined;
  readonly fallbacks?:
    | readonly { readonly wanted: string; readonly served: string; readonly count: number }[]
    | undefined;
}

/** Rule sources as `startSources(...).status()` reports them. */
export interface StatusSourcesLike {
  readonly state: string;
  readonly sources: readonly { readonly name: string; readonly status: SourceStatus }[];
}
