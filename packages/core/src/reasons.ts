/**
 * The closed vocabularies shared by every graylane package: why a request got its version,
 * where a marker came from, and why a marker was ignored. Metric labels use these values only,
 * so their cardinality is fixed (RELIABILITY I2).
 */

/** A carrier a marker can arrive on. */
export type MarkerSource = 'header' | 'cookie' | 'query' | 'baggage';

/** All marker sources, in the default precedence order (DESIGN.md "Defaults"). */
export const MARKER_SOURCES: readonly MarkerSource[] = ['header', 'cookie', 'query', 'baggage'];

/** Why a present marker was treated as absent (RELIABILITY I3: ignore, don't reject). */
export type MarkerRejection =
  'too_long' | 'charset' | 'ambiguous' | 'unknown' | 'bad_signature' | 'expired' | 'untrusted';

/** Every marker rejection, for pre-registering metric series. */
export const MARKER_REJECTIONS: readonly MarkerRejection[] = [
  'too_long',
  'charset',
  'ambiguous',
  'unknown',
  'bad_signature',
  'expired',
  'untrusted',
];

/**
 * Why a request got its version.
 * - `header` `cookie` `query` `baggage`: a valid marker on that carrier.
 * - `context`: set explicitly by code (`runWithGray`) or inherited from an enclosing request.
 * - `override` / `manual` / `server`: browser only — QA query override, `setGrayVersion`,
 *   a version the server assigned.
 * - `rule` / `weight`: a rule matched; `weight` when it was a weighted split.
 * - `default`: nothing applied.
 * - `invalid_marker` / `unknown_version` / `bad_signature` / `untrusted_marker`: the default,
 *   served because the only marker present was ignored for that reason.
 * - `outside_window`: the default, served because the rule that matched is outside its time window.
 */
export type DecisionReason =
  | MarkerSource
  | 'context'
  | 'override'
  | 'manual'
  | 'server'
  | 'rule'
  | 'weight'
  | 'default'
  | 'invalid_marker'
  | 'unknown_version'
  | 'bad_signature'
  | 'untrusted_marker'
  | 'outside_window';

/** Every decision reason, for pre-registering metric series and for docs. */
export const DECISION_REASONS: readonly DecisionReason[] = [
  'header',
  'cookie',
  'query',
  'baggage',
  'context',
  'override',
  'manual',
  'server',
  'rule',
  'weight',
  'default',
  'invalid_marker',
  'unknown_version',
  'bad_signature',
  'untrusted_marker',
  'outside_window',
];

/** Maps a marker rejection to the reason reported when the default is served because of it. */
export function reasonForRejection(rejection: MarkerRejection): DecisionReason {
  switch (rejection) {
    case 'unknown':
      return 'unknown_version';
    case 'bad_signature':
    case 'expired':
      return 'bad_signature';
    case 'untrusted':
      return 'untrusted_marker';
    case 'too_long':
    case 'charset':
    case 'ambiguous':
      return 'invalid_marker';
  }
}
