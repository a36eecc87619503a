import type { JsonValue } from '../json/parse.js';
import { BUCKET_SPACE } from '../limits.js';
import type { Issues } from './issues.js';
import type { BucketBy, CompiledArm, CompiledStep } from './types.js';
import { parseInstant } from './window.js';

/** The most subjects a `bucketBy` chain may list. */
const MAX_CHAIN = 4;
/** The most steps a schedule may list. */
const MAX_STEPS = 64;
const BUCKET_BY = /^(header|cookie|query|attr):(.{1,256})$/;

/**
 * Validates a list of weighted arms and lays them out cumulatively in basis points, in the
 * listed order: arm i owns buckets `[end(i-1), end(i))`.
 */
export function readArms(
  value: JsonValue | undefined,
  path: string,
  versions: ReadonlySet<string>,
  issues: Issues,
): CompiledArm[] | undefined {
  const like = 'like [{"version": "beta", "weight": 5}, {"version": "stable", "weight": 95}]';
  if (!Array.isArray(value)) return issues.add(path, `must be a list of arms, ${like}`);
  if (value.length === 0) return issues.add(path, `must list at least one arm, ${like}`);
  if (value.length > versions.size)
    return issues.add(
      path,
      `lists ${value.length} arms for ${versions.size} declared version${versions.size === 1 ? '' : 's'}: one arm per version at most`,
    );
  const seen = new Set<string>();
  const weights: { version: string; weight: number }[] = [];
  value.forEach((arm, i) => {
    const at = `${path}[${i}]`;
    if (typeof arm !== 'object' || arm === null || Array.isArray(arm))
      return issues.add(at, 'must be an object');
    for (const key of Object.keys(arm))
      if (key !== 'version' && key !== 'weight') issues.add(`${at}.${key}`, 'unknown field');
    const v = arm['version'];
    const w = arm['weight'];
    if (typeof v !== 'string' || !versions.has(v))
      issues.add(`${at}.version`, `unknown version ${JSON.stringify(v)}`);
    else if (seen.has(v)) issues.add(`${at}.version`, `"${v}" appears twice in the split`);
    else seen.add(v);
    // CFG-03: "50" / -10 / 1e309 (Infinity) / 50.5 are all rejected.
    if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 0) {
      issues.add(
        `${at}.weight`,
        `must be a non-negative integer (got ${JSON.stringify(w) ?? String(w)})`,
      );
    } else if (typeof v === 'string') weights.push({ version: v, weight: w });
    return undefined;
  });
  if (weights.length !== value.length) return undefined;
  const sum = weights.reduce((a, b) => a + b.weight, 0);
  // CFG-04: never normalise silently.
  if (sum !== 100 && sum !== BUCKET_SPACE) {
    return issues.add(
      path,
      `weights sum to ${sum}; they must sum to exactly 100 (percent) or 10000 (basis points)`,
    );
  }
  const scale = BUCKET_SPACE / sum;
  let end = 0;
  return weights.map((arm) => {
    end += arm.weight * scale;
    return { version: arm.version, end };
  });
}

/** `"cookie:gray_uid"` or `["attr:userId", "cookie:gray_uid"]` → the chain, in order. */
export function readBucketChain(
  value: JsonValue | undefined,
  path: string,
  issues: Issues,
): BucketBy[] | undefined {
  if (value === undefined)
    return issues.add(path, 'a split needs "bucketBy", e.g. "cookie:gray_uid" or "attr:userId"');
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > MAX_CHAIN)
    return issues.add(path, `a bucketBy chain lists 1 to ${MAX_CHAIN} subjects`);
  const chain: BucketBy[] = [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    const m = typeof item === 'string' ? BUCKET_BY.exec(item) : null;
    if (!m) return issues.add(at, 'must be header:NAME, cookie:NAME, query:NAME or attr:NAME');
    const kind = m[1] as BucketBy['kind'];
    const name = kind === 'header' ? (m[2] as string).toLowerCase() : (m[2] as string);
    if (seen.has(`${kind}:${name}`)) return issues.add(at, `"${kind}:${name}" is listed twice`);
    seen.add(`${kind}:${name}`);
    chain.push({ kind, name });
    return undefined;
  });
  return chain.length === list.length ? chain : undefined;
}

/** The hash salt for a bucket version: version 1 (the default) keeps today's hashes. */
export function saltFor(salt: string, bucketVersion: number): string {
  return bucketVersion === 1 ? salt : `${salt}/v${bucketVersion}`;
}

/** `bucketVersion`: an integer 1–1,000,000, default 1. */
export function readBucketVersion(
  value: JsonValue | undefined,
  path: string,
  issues: Issues,
): number | undefined {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 1e6)
    return issues.add(path, 'must be an integer from 1 to 1000000 (1 keeps the original hashes)');
  return value;
}

/**
 * A schedule: `[{ "at": instant, "split": arms }, …]`, strictly increasing instants with an
 * explicit offset, each split naming the base split's versions in the base split's order (the
 * order fixes the bucket layout, which is what keeps a ramp monotonic).
 */
export function readSchedule(
  value: JsonValue | undefined,
  path: string,
  base: readonly CompiledArm[] | undefined,
  versions: ReadonlySet<string>,
  issues: Issues,
): CompiledStep[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_STEPS)
    return issues.add(path, `must list 1 to ${MAX_STEPS} steps like {"at": "…Z", "split": […]}`);
  const steps: CompiledStep[] = [];
  let ok = true;
  let previous = -Infinity;
  value.forEach((step, i) => {
    const at = `${path}[${i}]`;
    if (typeof step !== 'object' || step === null || Array.isArray(step)) {
      ok = false;
      return issues.add(at, 'must be an object {"at": …, "split": […]}');
    }
    for (const key of Object.keys(step))
      if (key !== 'at' && key !== 'split') issues.add(`${at}.${key}`, 'unknown field');
    const text = step['at'];
    const ms = typeof text === 'string' ? parseInstant(text) : undefined;
    if (ms === undefined) {
      ok = false;
      issues.add(
        `${at}.at`,
        'must be an RFC 3339 instant with an offset, e.g. "2026-12-01T09:00:00Z"',
      );
    } else if (ms <= previous) {
      ok = false;
      issues.add(`${at}.at`, 'steps must be in strictly increasing time order');
    }
    if (ms !== undefined) previous = Math.max(previous, ms);
    const arms = readArms(step['split'], `${at}.split`, versions, issues);
    if (!arms || ms === undefined) return (ok = false);
    if (base && arms.map((a) => a.version).join() !== base.map((a) => a.version).join()) {
      ok = false;
      return issues.add(
        `${at}.split`,
        `must list the rule's split versions in the same order (${base.map((a) => a.version).join(', ')}): the order fixes the bucket layout`,
      );
    }
    steps.push({ at: ms, arms });
    return undefined;
  });
  return ok ? steps : undefined;
}

/**
 * Warns when a step keeps or raises an arm's weight but moves its bucket range, so subjects
 * admitted before would leave (only the first and the last arm grow in place).
 */
export function checkMonotonic(
  base: readonly CompiledArm[],
  steps: readonly CompiledStep[],
  path: string,
  issues: Issues,
): void {
  let before = base;
  steps.forEach((step, i) => {
    step.arms.forEach((arm, j) => {
      const old = before[j];
      if (!old) return;
      const oldStart = j === 0 ? 0 : (before[j - 1]?.end ?? 0);
      const newStart = j === 0 ? 0 : (step.arms[j - 1]?.end ?? 0);
      const grew = arm.end - newStart >= old.end - oldStart && old.end > oldStart;
      if (grew && (newStart > oldStart || arm.end < old.end))
        issues.warn(
          `${path}[${i}].split[${j}]`,
          `"${arm.version}" keeps or gains weight but its buckets move, so some subjects it had leave it; put the ramped version first or last`,
        );
    });
    before = step.arms;
  });
}
