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
 * - allowlisted: exactly one marker header and one `gray` baggage member (OUT-01), unless the
 *   caller set the marker header: then it is theirs, and nothing is touched (OUT-03);
 * - otherwise: the marker header (every value) and the `gray` baggage member are removed,
 *   whoever set them, the caller included (I8, as `@graylane/node` since ad5f6c4).
 * The marker is re-validated right before it is set (OUT-05). Mutates `headers` (always our
 * own copy); never throws.
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
    if (headers.has(lane.header)) {
      countOutbound('skipped_caller');
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
