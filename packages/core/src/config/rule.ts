import type { JsonObject, JsonValue } from '../json/parse.js';
import { BUCKET_SPACE } from '../limits.js';
import type { RegexEngine } from '../regex.js';
import type { Issues } from './issues.js';
import { compileMatch } from './match.js';
import type { BucketBy, CompiledArm, CompiledRule } from './types.js';
import { parseInstant } from './window.js';

/** What compiling a rule needs from the enclosing document. */
export interface RuleContext {
  readonly versions: ReadonlySet<string>;
  /** Rule ids seen so far (to reject duplicates). */
  readonly ids: Set<string>;
  readonly issues: Issues;
  readonly regex: RegexEngine | undefined;
}

const RULE_KEYS: ReadonlySet<string> = new Set([
  'id',
  'description',
  'enabled',
  'match',
  'version',
  'split',
  'bucketBy',
  'salt',
  'window',
]);
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const BUCKET_BY = /^(header|cookie|query|attr):(.{1,256})$/;

/** Validates and compiles one rule. Returns undefined for invalid or disabled rules. */
export function compileRule(
  doc: JsonValue,
  path: string,
  ctx: RuleContext,
): CompiledRule | undefined {
  const { issues } = ctx;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return issues.add(path, 'a rule must be an object');
  }
  for (const key of Object.keys(doc)) {
    if (!RULE_KEYS.has(key)) issues.add(`${path}.${key}`, 'unknown field');
  }
  const id = readId(doc, path, ctx);
  if (doc['description'] !== undefined && typeof doc['description'] !== 'string') {
    issues.add(`${path}.description`, 'must be a string');
  }
  const enabled = doc['enabled'];
  if (enabled !== undefined && typeof enabled !== 'boolean')
    issues.add(`${path}.enabled`, 'must be true or false');
  const conditions = compileMatch(doc['match'], `${path}.match`, issues, ctx.regex);
  const window = readWindow(doc['window'], `${path}.window`, issues);
  const target = readTarget(doc, path, id ?? '', ctx);
  if (!id || !conditions || !window || !target || enabled === false) return undefined;
  return { id, conditions, from: window.from, until: window.until, ...target };
}

function readId(doc: JsonObject, path: string, ctx: RuleContext): string | undefined {
  const id = doc['id'];
  if (typeof id !== 'string' || !RULE_ID.test(id)) {
    return ctx.issues.add(
      `${path}.id`,
      'must be 1–64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit',
    );
  }
  if (ctx.ids.has(id)) return ctx.issues.add(`${path}.id`, `duplicate rule id "${id}"`);
  ctx.ids.add(id);
  return id;
}

type Target =
  | { kind: 'version'; version: string }
  | { kind: 'split'; arms: CompiledArm[]; bucketBy: BucketBy; salt: string };

function readTarget(
  doc: JsonObject,
  path: string,
  id: string,
  ctx: RuleContext,
): Target | undefined {
  const { issues, versions } = ctx;
  const version = doc['version'];
  const split = doc['split'];
  if ((version === undefined) === (split === undefined)) {
    return issues.add(path, 'a rule needs exactly one of "version" or "split"');
  }
  if (version !== undefined) {
    if (doc['bucketBy'] !== undefined)
      issues.add(`${path}.bucketBy`, 'only a "split" rule buckets');
    if (typeof version !== 'string' || !versions.has(version)) {
      return issues.add(`${path}.version`, `unknown version ${JSON.stringify(version)}`);
    }
    return { kind: 'version', version };
  }
  const arms = readSplit(split, `${path}.split`, ctx);
  const bucketBy = readBucketBy(doc['bucketBy'], `${path}.bucketBy`, issues);
  const salt = doc['salt'] ?? id;
  if (typeof salt !== 'string' || salt.length === 0 || salt.length > 64) {
    return issues.add(`${path}.salt`, 'must be a string of 1–64 characters');
  }
  if (!arms || !bucketBy) return undefined;
  return { kind: 'split', arms, bucketBy, salt };
}

function readSplit(
  value: JsonValue | undefined,
  path: string,
  ctx: RuleContext,
): CompiledArm[] | undefined {
  const { issues, versions } = ctx;
  if (!Array.isArray(value) || value.length === 0 || value.length > versions.size) {
    return issues.add(
      path,
      'must list 1 arm per version at most, like [{"version": "beta", "weight": 5}, …]',
    );
  }
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

function readBucketBy(
  value: JsonValue | undefined,
  path: string,
  issues: Issues,
): BucketBy | undefined {
  if (value === undefined)
    return issues.add(path, 'a split needs "bucketBy", e.g. "cookie:gray_uid" or "attr:userId"');
  const m = typeof value === 'string' ? BUCKET_BY.exec(value) : null;
  if (!m) return issues.add(path, 'must be header:NAME, cookie:NAME, query:NAME or attr:NAME');
  const kind = m[1] as BucketBy['kind'];
  const name = m[2] as string;
  return { kind, name: kind === 'header' ? name.toLowerCase() : name };
}

function readWindow(
  value: JsonValue | undefined,
  path: string,
  issues: Issues,
): { from: number | undefined; until: number | undefined } | undefined {
  if (value === undefined) return { from: undefined, until: undefined };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return issues.add(path, 'must be an object');
  for (const key of Object.keys(value))
    if (key !== 'from' && key !== 'until') issues.add(`${path}.${key}`, 'unknown field');
  const from = readInstant(value['from'], `${path}.from`, issues);
  const until = readInstant(value['until'], `${path}.until`, issues);
  if (from === null || until === null) return undefined;
  if (from === undefined && until === undefined)
    return issues.add(path, 'needs "from", "until" or both');
  if (from !== undefined && until !== undefined && until <= from) {
    return issues.add(path, '"until" must be later than "from" (the window is [from, until))');
  }
  return { from, until };
}

/** undefined = absent; null = invalid (issue recorded). */
function readInstant(
  value: JsonValue | undefined,
  path: string,
  issues: Issues,
): number | undefined | null {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseInstant(value) : undefined;
  if (ms === undefined) {
    issues.add(path, 'must be an RFC 3339 instant with an offset, e.g. "2026-12-01T00:00:00Z"');
    return null;
  }
  return ms;
}
