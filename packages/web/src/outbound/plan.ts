import {
  baggageMemberHeaders,
  isVersionLabel,
  removeBaggageMember,
  setBaggageMember,
  stripBaggageMember,
  type Allowlist,
} from '@graylane/core';
import type { GrayLane } from '../context/storage.js';
import { DEFAULT_MARKER_KEY } from '../limits.js';
import { countOutbound } from '../metrics/outbound.js';

/** RFC 9110 `token`: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/;

/**
 * Writes the lane onto the headers of one hop, judged on that hop's own URL (RDR-01/02):
 * - allowlisted: exactly one marker header and one `gray` baggage member (OUT-01); a `gray`
 *   member another propagator carries in a header of its own (`uberctx-gray`, `ot-baggage-gray`)
 *   says the version too. A marker header the caller set is kept as the lane's `keep` says: in a
 *   lane decided in `open` trust it is theirs, and nothing is touched (OUT-03); in a lane decided
 *   under a trust that did not take the client's word (`edge`, `signed`), only the lane's own
 *   version is kept, in every form: the client's marker, forwarded with the request's headers,
 *   is replaced by the lane's (GW-01, HDR-14);
 * - otherwise: the marker header (every value) and the `gray` member, in `baggage` and in the
 *   headers of its own, are removed, whoever set them, the caller included (I8, as
 *   `@graylane/node` since ad5f6c4).
 * With the member off (`baggageKey: false`) every hop loses it under its default name, which a
 * later hop with default settings would read (OTB-02, as `@graylane/node`). The marker is
 * re-validated right before it is set (OUT-05): a guarded lane without a valid one sends none.
 * Mutates `headers` (always our own copy); never throws.
 */
export function applyLane(
  headers: Headers,
  url: string,
  lane: GrayLane,
  allow: Allowlist | undefined,
): void {
  try {
    const key = lane.baggageKey;
    const named = HEADER_NAME.test(lane.header);
    const version = lane.decision.version;
    const valid = named && isVersionLabel(version);
    const guarded = lane.keep !== 'any';
    if (key === false) dropMember(headers, DEFAULT_MARKER_KEY);
    const allowed = allow?.allows(url) === true;
    if (!allowed || (guarded && !valid)) {
      if (named) headers.delete(lane.header);
      if (key !== false) dropMember(headers, key);
      countOutbound(allowed ? 'skipped_invalid' : 'skipped_host');
      return;
    }
    const caller = named ? headers.get(lane.header) : null;
    if (caller !== null && !guarded) {
      countOutbound('skipped_caller');
      return;
    }
    if (!valid) {
      countOutbound('skipped_invalid');
      return;
    }
    const kept = caller !== null && says(lane, caller);
    if (!kept) headers.set(lane.header, version);
    if (key !== false) {
      // Beside a marker the caller set, a member is written only where one was (OUT-03).
      const baggage = headers.get('baggage');
      if (!kept || (baggage !== null && stripBaggageMember(baggage, key).removed > 0))
        headers.set('baggage', setBaggageMember(baggage ?? undefined, key, version));
      for (const name of baggageMemberHeaders(key)) {
        const value = headers.get(name);
        if (value !== null && !says(lane, value)) headers.set(name, version);
      }
    }
    countOutbound(kept ? 'skipped_caller' : 'injected');
  } catch {
    countOutbound('skipped_invalid');
  }
}

/**
 * A well-formed signed token (`<version>.<exp>.<kid>.<43-char HMAC>`, core's `parseSignedToken`
 * shape) after its version: a `token` lane keeps one for its own version as written.
 */
const TOKEN_TAIL = /^\.(?:0|[1-9]\d{0,11})\.[\w-]{1,32}\.[\w-]{43}$/;

/** True when `value` is the lane's own version: the label, or (`keep: 'token'`) a token for it. */
function says(lane: GrayLane, value: string): boolean {
  const version = lane.decision.version;
  return (
    value === version ||
    (lane.keep === 'token' &&
      value.startsWith(version) &&
      TOKEN_TAIL.test(value.slice(version.length)))
  );
}

/**
 * Removes every `key` member: from `baggage` (judged by the decoded key, `%67ray` is `gray`; the
 * header dropped when nothing is left) and from the headers other OpenTelemetry propagators
 * carry it in (core's `baggageMemberHeaders`: `uberctx-gray`, `ot-baggage-gray`).
 */
function dropMember(headers: Headers, key: string): void {
  for (const name of baggageMemberHeaders(key)) headers.delete(name);
  const baggage = headers.get('baggage');
  if (baggage === null) return;
  const rest = removeBaggageMember(baggage, key);
  if (rest === undefined) headers.delete('baggage');
  else if (rest !== baggage) headers.set('baggage', rest);
}
