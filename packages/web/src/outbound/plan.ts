import {
  isVersionLabel,
  removeBaggageMember,
  setBaggageMember,
  type Allowlist,
} from '@graylane/core';
import type { GrayLane } from '../context/storage.js';
import { countOutbound } from '../metrics/outbound.js';

/** RFC 9110 `token`: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/;

/**
 * Writes the lane onto the headers of one hop, judged on that hop's own URL (RDR-01/02):
 * allowlisted → exactly one marker header and one `gray` baggage member (OUT-01); otherwise the
 * marker header graylane would have set and the `gray` baggage member are removed (I8). The
 * marker is re-validated right before it is set (OUT-05). Mutates `headers` (always our own
 * copy); never throws.
 */
export function applyLane(
  headers: Headers,
  url: string,
  lane: GrayLane,
  allow: Allowlist | undefined,
): void {
  try {
    const key = lane.baggageKey;
    if (!allow || !allow.allows(url)) {
      headers.delete(lane.header);
      if (key !== false && headers.has('baggage')) {
        const rest = removeBaggageMember(headers.get('baggage') ?? undefined, key);
        if (rest === undefined) headers.delete('baggage');
        else headers.set('baggage', rest);
      }
      countOutbound('skipped_host');
      return;
    }
    const version = lane.decision.version;
    if (!isVersionLabel(version) || !HEADER_NAME.test(lane.header)) {
      countOutbound('skipped_invalid');
      return;
    }
    headers.set(lane.header, version);
    if (key !== false)
      headers.set('baggage', setBaggageMember(headers.get('baggage') ?? undefined, key, version));
    countOutbound('injected');
  } catch {
    countOutbound('skipped_invalid');
  }
}
