import { StandardResolutionReasons, type ResolutionReason } from '@openfeature/core';
import type { DecisionReason } from '@graylane/core';

const { TARGETING_MATCH, SPLIT, STATIC, DEFAULT, UNKNOWN } = StandardResolutionReasons;

/**
 * graylane's decision reasons in OpenFeature's vocabulary. A marker (header, cookie, query,
 * baggage, a QA override, a server-assigned version) targets the request explicitly, so it is a
 * targeting match; a version bound by code is static; every "served the default because …"
 * reason is DEFAULT, the graylane reason itself stays in the flag metadata.
 */
const REASONS: ReadonlyMap<DecisionReason, ResolutionReason> = new Map<
  DecisionReason,
  ResolutionReason
>([
  ['header', TARGETING_MATCH],
  ['cookie', TARGETING_MATCH],
  ['query', TARGETING_MATCH],
  ['baggage', TARGETING_MATCH],
  ['override', TARGETING_MATCH],
  ['server', TARGETING_MATCH],
  ['rule', TARGETING_MATCH],
  ['weight', SPLIT],
  ['context', STATIC],
  ['manual', STATIC],
  ['default', DEFAULT],
  ['invalid_marker', DEFAULT],
  ['unknown_version', DEFAULT],
  ['bad_signature', DEFAULT],
  ['untrusted_marker', DEFAULT],
  ['outside_window', DEFAULT],
]);

/**
 * The OpenFeature resolution reason for a graylane decision reason; `UNKNOWN` for a value
 * outside graylane's closed set (never throws).
 *
 * @example
 * ```ts
 * toOpenFeatureReason('weight'); // 'SPLIT'
 * toOpenFeatureReason('header'); // 'TARGETING_MATCH'
 * ```
 */
export function toOpenFeatureReason(reason: string): ResolutionReason {
  return REASONS.get(reason as DecisionReason) ?? UNKNOWN;
}
