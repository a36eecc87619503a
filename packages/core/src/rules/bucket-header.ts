import { BUCKET_SPACE } from '../limits.js';
import type { Decision } from './types.js';

/** The header that carries a subject's bucket to the next proxy. */
export const BUCKET_HEADER = 'x-gray-bucket';

/**
 * The header value for a weighted decision's bucket, or `undefined` when the decision was not
 * made by a split (a marker, a plain rule, the default): then no header is sent and a proxy
 * falls back to its own random value.
 *
 * `basis-points` (default) is the bucket itself, 0–9999: an Envoy `weighted_clusters` route with
 * `header_name` set to this header and the same arms, in the same order, weighted in basis
 * points (sum 10000), picks the same version (Envoy takes `value % total_weight` and walks the
 * clusters cumulatively, as graylane does). `percent` is `floor(bucket / 100)`, 0–99, which
 * agrees only when every arm's weight is a whole percent.
 *
 * Anything that is not a weighted decision (`null`, `undefined`, a plain object) gives
 * `undefined`: no header. A `form` other than `'percent'` is `basis-points`.
 *
 * @example
 * ```ts
 * const value = bucketHeaderValue(decide(config, request));
 * if (value !== undefined) outgoingHeaders[BUCKET_HEADER] = value;
 * ```
 */
export function bucketHeaderValue(
  decision: Decision,
  form: 'basis-points' | 'percent' = 'basis-points',
): string | undefined {
  const b = decision?.bucket;
  if (decision?.reason !== 'weight' || typeof b !== 'number') return undefined;
  if (!Number.isInteger(b) || b < 0 || b >= BUCKET_SPACE) return undefined;
  return String(form === 'percent' ? Math.floor(b / 100) : b);
}
