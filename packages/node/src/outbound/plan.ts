import { validateHeaderName } from 'node:http';
import { isVersionLabel, setBaggageMember, type Allowlist } from '@graylane/core';
import { currentStore } from '../context/storage.js';
import { countOutbound } from '../metrics/stats.js';

/** What to add to one outbound request. */
export interface InjectionPlan {
  /** Lower-case header name. */
  readonly header: string;
  readonly version: string;
  /** The baggage header to send (ours first, others kept within W3C limits), or undefined. */
  readonly baggage: string | undefined;
}

/** Read access to the headers an outbound request already has. Must not throw. */
export interface ExistingHeaders {
  has(name: string): boolean;
  get(name: string): string | readonly string[] | undefined;
}

/**
 * Decides whether and what to inject into one outbound request, and counts the outcome.
 * Re-validates the marker right before it is set (RELIABILITY design rule 2, OUT-05): a marker
 * that is not a version label is skipped, never thrown. Never throws.
 *
 * - no context → nothing (not counted: there is no marker to carry);
 * - target not allowlisted → `skipped_host` (OUT-02, I8);
 * - the caller already set the marker header → `skipped_caller`: the caller owns the marker,
 *   neither the header nor the baggage is touched (OUT-03, OUT-04: never duplicated).
 */
export function planInjection(
  url: string | undefined,
  existing: ExistingHeaders,
  override: Allowlist | undefined,
): InjectionPlan | undefined {
  try {
    const store = currentStore();
    if (!store) return undefined;
    const allow = override ?? store.allow;
    if (!allow || url === undefined || !allow.allows(url)) return skip('skipped_host');
    const version = store.decision.version;
    if (!isVersionLabel(version) || !isHeaderName(store.header)) return skip('skipped_invalid');
    if (existing.has(store.header)) return skip('skipped_caller');
    const key = store.baggageKey;
    const baggage =
      key === false ? undefined : setBaggageMember(existing.get('baggage'), key, version);
    countOutbound('injected');
    return { header: store.header, version, baggage };
  } catch {
    return skip('skipped_invalid');
  }
}

function skip(result: 'skipped_host' | 'skipped_caller' | 'skipped_invalid'): undefined {
  countOutbound(result);
  return undefined;
}

function isHeaderName(name: string): boolean {
  try {
    validateHeaderName(name);
    return true;
  } catch {
    return false;
  }
}
