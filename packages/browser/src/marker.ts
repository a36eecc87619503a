import { MAX_RAW_MARKER_BYTES, VERSION_PATTERN } from '@graylane/core';

/** @internal Why a present marker was ignored. */
export type Rejection = 'invalid_marker' | 'unknown_version';

/**
 * @internal The version `raw` names in the closed set (I2), else `undefined`; `reject` hears why
 * a present, non-empty value was ignored. Several disagreeing values arrive as `AMBIGUOUS` (`,`)
 * and fail like any invalid value (CK-02/QS-03). Over 64 bytes is rejected before trimming
 * (HDR-09); OWS is trimmed (HDR-06); no case folding (HDR-05). Never throws. The same rules as
 * core `parseMarker`, reduced to what a page needs: the versions were validated at init, so set
 * membership is the whole check.
 */
export function readMarker(
  versions: ReadonlySet<string>,
  raw: unknown,
  reject?: (why: Rejection) => void,
): string | undefined {
  // Not a string (a JSON hand-off's `null`, a number from untyped code): absent, never a throw.
  const v =
    typeof raw == 'string' &&
    (raw.length > MAX_RAW_MARKER_BYTES ? ',' : raw.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (v && versions.has(v)) return v;
  if (v) reject?.(VERSION_PATTERN.test(v) ? 'unknown_version' : 'invalid_marker');
  return undefined;
}
