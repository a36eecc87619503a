import { bucket, BUCKET_SPACE } from '@graylane/core';
import { fail, type GrayRules } from './options.js';
import { keyed } from './same-options.js';

/** Options of {@link split}. */
export interface SplitOptions {
  /** Hash salt. Default `gray`. Change it to reshuffle who lands where. */
  readonly salt?: string;
}

/**
 * A weighted split in percent on the anonymous id, e.g. `{ beta: 5 }`: 5% of visitors get
 * `beta`, the remainder the default. Buckets are core's `bucket(salt, id)` (murmur3, 0–9999), so
 * a server using the same salt and id agrees (I9), and raising a weight only adds visitors
 * (WT-03). A visitor whose anonymous id cannot be kept (cookies off or refused, `cookie: false`)
 * is never bucketed — a new id every page view would be a new lane every page view — and gets
 * the default (reason `default`), or the version weighted 100. Throws `INVALID_OPTIONS` unless
 * weights are integers summing to at most 100.
 *
 * @example
 * ```ts
 * initGray({ versions: ['stable', 'beta'], default: 'stable', rules: split({ beta: 5 }) });
 * ```
 */
export function split(
  weights: Readonly<Record<string, number>>,
  options?: SplitOptions,
): GrayRules {
  const arms: Array<readonly [string, number]> = [];
  let end = 0;
  let all: string | undefined;
  if (typeof weights != 'object' || !weights) fail('split weights');
  for (const [version, pct] of Object.entries(weights)) {
    end += pct * (BUCKET_SPACE / 100);
    if (!Number.isInteger(pct) || pct < 0 || end > BUCKET_SPACE)
      fail(`split weight ${version}: ${pct}`);
    arms.push([version, end]);
    if (pct === 100) all = version;
  }
  const salt = options?.salt ?? 'gray'; // `null` options are none
  const rules: GrayRules = ({ anonymousId, defaultVersion }) => {
    // WT-05: no id ('') is no bucket; only a version every bucket gets applies.
    if (!anonymousId) return all ? { version: all, reason: 'weight' } : undefined;
    const b = bucket(salt, anonymousId);
    return { version: arms.find(([, e]) => b < e)?.[0] ?? defaultVersion, reason: 'weight' };
  };
  // Equal splits are equal options for a repeated initGray (StrictMode renders split() twice).
  return keyed(rules, JSON.stringify([salt, arms]));
}
