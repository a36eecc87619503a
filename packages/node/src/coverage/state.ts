import type { Allowlist, SourceLogger } from '@graylane/core';
import type { CounterLike } from '../metrics/otel.js';

/**
 * One destination's counts. Only allowlisted destinations get their own row; calls withheld from
 * the rest share {@link WITHHELD_DESTINATION}, and allowlisted ones past the cap share
 * {@link OTHER_DESTINATION}.
 */
export interface CoverageRow {
  readonly destination: string;
  carried: number;
  missing: number;
  withheld: number;
  lastMissingSite: string | undefined;
}

/** What `installCoverage()` left in place while it is active. */
export interface CoverageInstall {
  readonly allow: Allowlist | undefined;
  readonly logger: SourceLogger;
  /** Count calls made with no lane bound while a request is in flight. */
  readonly unbound: boolean;
  readonly uninstall: () => void;
}

/** @internal Process-wide coverage state (one copy whatever mix of ESM/CJS entries loads). */
export interface CoverageState {
  install: CoverageInstall | undefined;
  readonly rows: Map<string, CoverageRow>;
  unbound: number;
  lastUnboundSite: string | undefined;
  /** Call sites already logged (missing and unbound), bounded. */
  readonly logged: Set<string>;
  /** Log lines not written because {@link MAX_LOGGED_SITES} sites were already logged. */
  suppressedLogs: number;
  /** Inbound requests (node:http servers) received and not yet closed. */
  inFlight: number;
  /** The OTel counter and the MeterProvider it was made from. */
  counter: CounterLike | undefined;
  counterProvider: unknown;
}

/**
 * Allowlisted destinations counted one by one. The operator's allowlist bounds them; this cap
 * only matters for a RegExp entry (`/^https:\/\/[a-z0-9-]+\.internal$/`) reached under many names, and keeps memory
 * and OTel series bounded whatever the requests make the app call.
 */
export const MAX_DESTINATIONS = 50;
/** The row of allowlisted destinations past {@link MAX_DESTINATIONS}. */
export const OTHER_DESTINATION = 'other';
/**
 * The one row of every destination that is not allowlisted (`withheld`, or a `carried` call to
 * one). Which hosts those are can be chosen by request input (webhooks, a URL in a body), so
 * they are never named: not on the page, not in a metric label, and they never take a row
 * from an allowlisted destination. Not a `scheme://host:port`, so no destination can collide.
 */
export const WITHHELD_DESTINATION = 'not-allowlisted';
/** Call sites logged once each; past this, lines are counted, not written. */
export const MAX_LOGGED_SITES = 1000;

const KEY = Symbol.for('@graylane/node.coverage.v1');

/** @internal The one coverage state of this process, created on first use (never on import). */
export function coverageState(): CoverageState {
  const g = globalThis as { [KEY]?: CoverageState };
  return (g[KEY] ??= {
    install: undefined,
    rows: new Map(),
    unbound: 0,
    lastUnboundSite: undefined,
    logged: new Set(),
    suppressedLogs: 0,
    inFlight: 0,
    counter: undefined,
    counterProvider: undefined,
  });
}
