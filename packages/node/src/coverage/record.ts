import { METRIC_NAMES, type Allowlist } from '@graylane/core';
import type { GrayStore } from '../context/storage.js';
import { followingCounter, safeAdd } from '../metrics/otel.js';
import { outboundState } from '../outbound/state.js';
import type { Wire } from './marker.js';
import { callSite } from './site.js';
import {
  coverageState,
  MAX_DESTINATIONS,
  MAX_LOGGED_SITES,
  OTHER_DESTINATION,
  WITHHELD_DESTINATION,
  type CoverageInstall,
  type CoverageRow,
  type CoverageState,
} from './state.js';

/** The OTel counter's name (docs/observability.md, docs/dashboards/graylane.grafana.json). */
export const PROPAGATION_METRIC = METRIC_NAMES.propagation;

/** What one outbound request looked like when it left. */
export interface Departure {
  /** `scheme://host:port`, or undefined when it cannot be told (a Unix socket). */
  readonly destination: string | undefined;
  /** The lane bound by the code that made the call, if any. */
  readonly store: GrayStore | undefined;
  /** The allowlist of the graylane call that planned the request (withGray, grayInterceptor). */
  readonly planned: Allowlist | undefined;
  /** What it sent as graylane reads it (marker.ts); undefined with no lane bound. */
  readonly wire: Wire | undefined;
  /** The stack of the code that made the call, captured when it was made (if it was). */
  readonly stack: Error | undefined;
}

/**
 * The allowlist a departure is judged by: the planning call's, else `installCoverage`'s, else
 * `installGlobal`'s, else the one of the middleware that bound the lane.
 */
function allowlistOf(
  planned: Allowlist | undefined,
  install: CoverageInstall | undefined,
  store: GrayStore,
): Allowlist | undefined {
  return planned ?? install?.allow ?? outboundState().install?.allow ?? store.allow;
}

/**
 * Whether a request of lane `store` should have its call site captured where it is made, as it
 * looks then (`planned`: the allowlist of the graylane call that made it, when known yet): to an
 * allowlisted destination unless it carries its own lane (it would be `missing`), elsewhere
 * when it carries marker material (a leak). The head may still change before it leaves; the
 * site is then unknown, never wrong. Never throws.
 */
export function sitesWanted(
  store: GrayStore,
  wire: Wire,
  destination: string | undefined,
  planned: Allowlist | undefined,
): boolean {
  try {
    const allowed = allows(allowlistOf(planned, coverageState().install, store), destination);
    return allowed ? wire.version !== store.decision.version : wire.present;
  } catch {
    return true;
  }
}

/**
 * Counts one request that left the process (see install.ts for who calls this). Never throws.
 * - no lane bound: counted `unbound` only while an inbound request is in flight and the call
 *   was made by the app's code (a callback that lost its request's context, or the app's own
 *   background work: the site tells), not by a dependency alone (an exporter's flush);
 * - it carries marker material (any marker header, a member that decodes to the baggage key),
 *   to a host outside the allowlist → `carried` in the `not-allowlisted` row, a leak: logged
 *   once per call site, the host unnamed;
 * - allowlisted: its own lane → `carried`; no marker → `missing`; another lane's marker (a
 *   stale `X-Gray-Id: stable` the caller set, which graylane keeps, OUT-03) → `missing` too,
 *   since the next hop serves that lane: the lane broke there; each logged once per call site;
 * - else `withheld`.
 * The allowlist: the planning call's, else `installCoverage`'s, else `installGlobal`'s, else the
 * one of the middleware that bound the lane.
 */
export function recordDeparture(departure: Departure, install: CoverageInstall): void {
  try {
    const state = coverageState();
    const { store, destination } = departure;
    if (store === undefined) {
      if (install.unbound && state.inFlight > 0) unbound(state, install, departure);
      return;
    }
    const version = departure.wire?.version;
    const allowed = allows(allowlistOf(departure.planned, install, store), destination);
    const row = rowOf(state, destination, allowed);
    const lane = store.decision.version;
    if (allowed ? version === lane : departure.wire?.present === true) {
      count(state, row, 'carried');
      // A marker that left for a host outside the allowlist is a leak (I8): where it was made is
      // what the operator needs. The host is request input: never named.
      if (!allowed) {
        const site = callSite(departure.stack) ?? UNKNOWN_SITE;
        logOnce(
          state,
          install,
          `leaked\u0000${innermost(site)}`,
          `[graylane] propagation: a call to a host outside the allowlist left with the marker (lane ${lane}) at ${site}; add the host to allowHosts if it should get the marker; else the client is not graylane's: wrap it (withGray, grayInterceptor, attachGray) or installGlobal(), which remove the marker there, one the app set itself too`,
        );
      }
      return;
    }
    if (!allowed) return count(state, row, 'withheld');
    count(state, row, 'missing');
    const site = callSite(departure.stack) ?? UNKNOWN_SITE;
    row.lastMissingSite = site;
    if (version !== undefined)
      // Versions are labels (VERSION_PATTERN): safe to log. The next hop serves `version`.
      return logOnce(
        state,
        install,
        `mismatched\u0000${logKey(state, site, row.destination)}`,
        `[graylane] propagation: a call to ${destination ?? 'unknown'} left with the marker of lane ${version}, not its own (lane ${lane}), at ${site}; the next hop serves ${version}: drop the marker header the code sets there (graylane keeps a caller's own), or run the call in that lane on purpose (runWithGray)`,
      );
    logOnce(
      state,
      install,
      `missing\u0000${logKey(state, site, row.destination)}`,
      `[graylane] propagation: a call to ${destination ?? 'unknown'} left without the marker (lane ${lane}) at ${site}; wrap this client (withGray, grayInterceptor, attachGray) or installGlobal()`,
    );
  } catch {
    // I1: coverage never breaks a request.
  }
}

function unbound(state: CoverageState, install: CoverageInstall, departure: Departure): void {
  const found = callSite(departure.stack);
  // A stack with no frame of the app's: a dependency's own background work (an exporter's
  // flush, a driver's keep-alive), not a request's code that lost its context.
  if (departure.stack !== undefined && found === undefined) return;
  state.unbound++;
  const site = found ?? UNKNOWN_SITE;
  state.lastUnboundSite = site;
  // The host is named only when allowlisted (`installCoverage`'s or `installGlobal`'s list, or
  // the calling graylane client's when it planned the call; no lane's, as none is bound): any
  // other may be request input (a webhook URL), never logged (I8).
  const { destination } = departure;
  const allow = departure.planned ?? install.allow ?? outboundState().install?.allow;
  const to = allows(allow, destination) ? destination : 'a host that is not allowlisted (unnamed)';
  logOnce(
    state,
    install,
    `unbound\u0000${logKey(state, site, to ?? '')}`,
    `[graylane] propagation: a call to ${to} was made with no lane bound while a request was in flight, at ${site}; if it serves that request, its context was lost (a pool or callback queue): bind it with bindGray`,
  );
}

/** No stack was captured (node:http on Node < 22.13), or it holds no frame of the app's. */
const UNKNOWN_SITE = 'unknown call site';

/** A call site is its innermost frame: the callers above it vary (first call vs after an await). */
function innermost(site: string): string {
  const end = site.indexOf(' < ');
  return end === -1 ? site : site.slice(0, end);
}

/**
 * What a break is logged once per: its call site, or — when no frame of the app's was found (a
 * client such as got calls `http.request` after its own awaits) — its destination, so a break to
 * another service is still logged. Bounded apart from the log cap: the first
 * `MAX_DESTINATIONS` destinations get a line each, the rest share one (an allowlist RegExp can
 * match hosts a request chooses, `t1.internal`, `t2.internal`…, which must not use up the lines
 * a real break elsewhere needs: review 67 D2).
 */
function logKey(state: CoverageState, site: string, destination: string): string {
  if (site !== UNKNOWN_SITE) return innermost(site);
  let seen = UNKNOWN_SITE_DESTINATIONS.get(state);
  if (seen === undefined) UNKNOWN_SITE_DESTINATIONS.set(state, (seen = new Set()));
  if (!seen.has(destination) && seen.size < MAX_DESTINATIONS) seen.add(destination);
  return `${UNKNOWN_SITE}\u0000${seen.has(destination) ? destination : OTHER_DESTINATION}`;
}

/** The destinations given a line of their own for a break with no call site, per state. */
const UNKNOWN_SITE_DESTINATIONS = new WeakMap<CoverageState, Set<string>>();

/**
 * The row a call counts in: its own for an allowlisted destination (while fewer than
 * {@link MAX_DESTINATIONS} have one), else the shared rows. Not-allowlisted destinations never
 * create a row, so request-driven fan-out cannot push a broken allowlisted link into `other`.
 */
function rowOf(
  state: CoverageState,
  destination: string | undefined,
  allowed: boolean,
): CoverageRow {
  const own = destination === undefined ? 'unknown' : destination;
  const named = state.rows.get(own);
  if (allowed && named !== undefined) return named;
  const key = !allowed
    ? WITHHELD_DESTINATION
    : namedRows(state) < MAX_DESTINATIONS
      ? own
      : OTHER_DESTINATION;
  let row = state.rows.get(key);
  if (row === undefined) {
    row = { destination: key, carried: 0, missing: 0, withheld: 0, lastMissingSite: undefined };
    state.rows.set(key, row);
  }
  return row;
}

/** Rows of one destination each (the shared rows are not counted against the cap). */
function namedRows(state: CoverageState): number {
  const { rows } = state;
  return rows.size - (rows.has(WITHHELD_DESTINATION) ? 1 : 0) - (rows.has(OTHER_DESTINATION) ? 1 : 0);
}

function count(
  state: CoverageState,
  row: CoverageRow,
  result: 'carried' | 'missing' | 'withheld',
): void {
  row[result]++;
  safeAdd(followingCounter(state, PROPAGATION_METRIC, 'outbound calls made inside a lane'), {
    result,
    destination: row.destination,
  });
}

function allows(allow: Allowlist | undefined, destination: string | undefined): boolean {
  try {
    return allow !== undefined && destination !== undefined && allow.allows(destination);
  } catch {
    return false;
  }
}

function logOnce(state: CoverageState, install: CoverageInstall, key: string, line: string) {
  if (state.logged.has(key)) return;
  if (state.logged.size >= MAX_LOGGED_SITES) {
    state.suppressedLogs++;
    return;
  }
  state.logged.add(key);
  install.logger.warn(line);
}
