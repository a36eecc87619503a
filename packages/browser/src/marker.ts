import { MAX_RAW_MARKER_BYTES, VERSION_PATTERN } from '@graylane/core';

/** @internal A read marker: `{ version }`, `{ rejected }` (present but ignored), or absent. */
export type MarkerRead =
  | { readonly version: string }
  | { readonly rejected: 'invalid_marker' | 'unknown_version' }
  | undefined;

/**
 * @internal Checks a raw marker against the closed set of versions (I2). Several disagreeing
 * values arrive as `readPairs`'s `,` and fail like any invalid value (CK-02/QS-03). Over 64 bytes
 * is rejected before trimming (HDR-09); OWS is trimmed (HDR-06); no case folding (HDR-05). Never
 * throws. The same rules as core `parseMarker`, reduced to what a page needs: the versions were
 * validated at init, so set membership is the whole check.
 */
export function readMarker(versions: ReadonlySet<string>, raw: string | undefined): MarkerRead {
  if (raw === undefined) return undefined;
  const v = raw.length > MAX_RAW_MARKER_BYTES ? ',' : raw.replace(/^[ \t]+|[ \t]+$/g, '');
  if (versions.has(v)) return { version: v };
  return v === ''
    ? undefined
    : { rejected: VERSION_PATTERN.test(v) ? 'unknown_version' : 'invalid_marker' };
}
