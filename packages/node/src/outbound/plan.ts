import { validateHeaderName } from 'node:http';
import { isVersionLabel, type Allowlist } from '@graylane/core';
import { currentStore, type GrayStore } from '../context/storage.js';
import { countOutbound } from '../metrics/stats.js';

/**
 * What graylane carries on one outbound call, decided once from the caller's context and then
 * applied to every hop of that call (the first request and each redirect the client follows).
 */
export interface HopPlan {
  readonly version: string;
  /** Lower-case marker header. */
  readonly header: string;
  readonly baggageKey: string | false;
  /** Hosts that may receive the marker; undefined means none (I8). */
  readonly allow: Allowlist | undefined;
  /**
   * The caller set the marker header itself: it is theirs on every allowlisted hop (OUT-03,
   * OUT-04); a hop outside the allowlist loses it all the same (I8, see `applyHop`).
   */
  readonly callerOwns: boolean;
  /**
   * `grayInterceptor` on a Client or Pool called without `origin`: the host was unknown at
   * dispatch, so each request is judged where undici creates it, on its own origin (hop-guard.ts),
   * and gets the marker there when allowlisted.
   */
  readonly atCreate?: boolean;
}

/**
 * Plans one outbound call, or returns undefined outside any graylane context. Re-validates the
 * marker right before use (RELIABILITY design rule 2, OUT-05): a version that is not a label, or
 * a header name Node would reject, is skipped and counted (unless `count` is off: a hop judged
 * again), never thrown. Never throws.
 */
export function planCall(
  override: Allowlist | undefined,
  existing: { has(name: string): boolean },
  store: GrayStore | undefined = currentStore(),
  count = true,
): HopPlan | undefined {
  try {
    if (!store) return undefined;
    const version = store.decision.version;
    if (!isVersionLabel(version) || !isHeaderName(store.header)) {
      if (count) countOutbound('skipped_invalid');
      return undefined;
    }
    const callerOwns = existing.has(store.header);
    if (callerOwns && count) countOutbound('skipped_caller');
    return {
      version,
      header: store.header,
      baggageKey: store.baggageKey,
      allow: override ?? store.allow,
      callerOwns,
    };
  } catch {
    countOutbound('skipped_invalid');
    return undefined;
  }
}

/**
 * Judges one hop: true when its target may receive the marker. Counts `injected` or
 * `skipped_host` when `count` is set (a caller-owned marker was counted once, at planning).
 * An unparsable or missing target is refused (I8). Never throws.
 */
export function judgeHop(
  plan: HopPlan,
  target: string | readonly string[] | undefined,
  count = true,
): boolean {
  const allowed = judgeBare(plan.allow, target);
  if (count && !plan.callerOwns) countOutbound(allowed ? 'injected' : 'skipped_host');
  return allowed;
}

/**
 * True when `allow` lets `target` receive the marker: every host of a list (a forward proxy and
 * the URL it is asked for). No allowlist, or a missing or unparsable target: false (I8). Counts
 * nothing (a hop made with no lane, see `cleanHop`). Never throws.
 */
export function judgeBare(
  allow: Allowlist | undefined,
  target: string | readonly string[] | undefined,
): boolean {
  try {
    return (
      allow !== undefined &&
      target !== undefined &&
      (typeof target === 'string'
        ? allow.allows(target)
        : target.length > 0 && target.every((t) => allow.allows(t)))
    );
  } catch {
    return false;
  }
}

/** The last name that passed: the marker header rarely changes, so it is validated once. */
let validName: string | undefined;

function isHeaderName(name: string): boolean {
  if (name === validName) return true;
  try {
    validateHeaderName(name);
    validName = name;
    return true;
  } catch {
    return false;
  }
}
