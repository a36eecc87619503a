import type { JsonObject, JsonValue } from '../json/parse.js';
import type { RegexEngine } from '../regex.js';
import type { Issues } from './issues.js';
import { compileMatch } from './match.js';
import {
  checkMonotonic,
  readArms,
  readBucketChain,
  readBucketVersion,
  readSchedule,
  saltFor,
} from './split.js';
import type { BucketBy, CompiledArm, CompiledRule, CompiledStep } from './types.js';
import { parseInstant } from './window.js';

/** What compiling a rule needs from the enclosing document. */
export interface RuleContext {
  readonly versions: ReadonlySet<string>;
  /** Rule ids seen so far (to reject duplicates). */
  readonly ids: Set<string>;
  readonly issues: Issues;
  readonly regex: RegexEngine | undefined;
}

/** @internal Every field a rule may have (the normal form keeps each: `normal-form.test.ts`). */
export const RULE_KEYS: ReadonlySet<string> = new Set([
  'id',
  'description',
  'enabled',
  'match',
  'version',
  'split',
  'bucketBy',
  'salt',
  'bucketVersion',
  'schedule',
  'pausedAt',
  'window',
  'sticky',
]);
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

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
  const sticky = doc['sticky'];
  if (sticky !== undefined && sticky !== 'keep' && sticky !== 'reevaluate')
    issues.add(`${path}.sticky`, 'must be "keep" or "reevaluate"');
  if (!id || !conditions || !window || !target || enabled === false) return undefined;
  const rule = { id, conditions, from: window.from, until: window.until, ...target };
  // A scheduled ramp re-evaluates sticky visitors unless told to keep them: with "keep", a
  // visitor assigned stable at 1 % would stay stable through every later step (STK-03).
  const scheduled = target.kind === 'split' && target.schedule.length > 0;
  const policy = sticky ?? (scheduled ? 'reevaluate' : undefined);
  return policy === 'reevaluate' ? { ...rule, sticky: policy } : rule;
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
  | {
      kind: 'split';
      arms: CompiledArm[];
      bucketBy: BucketBy;
      bucketChain: BucketBy[];
      salt: string;
      schedule: CompiledStep[];
      pausedAt: number | undefined;
    };

const SPLIT_ONLY = ['bucketBy', 'bucketVersion', 'schedule', 'pausedAt'] as const;

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
    for (const key of SPLIT_ONLY)
      if (doc[key] !== undefined) issues.add(`${path}.${key}`, 'only a "split" rule has this');
    if (typeof version !== 'string' || !versions.has(version)) {
      return issues.add(`${path}.version`, `unknown version ${JSON.stringify(version)}`);
    }
    return { kind: 'version', version };
  }
  const arms = readArms(split, `${path}.split`, versions, issues);
  const chain = readBucketChain(doc['bucketBy'], `${path}.bucketBy`, issues);
  const bucketVersion = readBucketVersion(doc['bucketVersion'], `${path}.bucketVersion`, issues);
  const schedule = readSchedule(doc['schedule'], `${path}.schedule`, arms, versions, issues);
  const pausedAt = readInstant(doc['pausedAt'], `${path}.pausedAt`, issues);
  if (pausedAt !== undefined && doc['schedule'] === undefined)
    issues.add(`${path}.pausedAt`, 'only a rule with a "schedule" can be paused');
  const salt = doc['salt'] ?? id;
  if (typeof salt !== 'string' || salt.length === 0 || salt.length > 64) {
    return issues.add(`${path}.salt`, 'must be a string of 1–64 characters');
  }
  if (!arms || !chain || !chain[0] || !bucketVersion || !schedule || pausedAt === null)
    return undefined;
  checkMonotonic(arms, schedule, `${path}.schedule`, issues);
  return {
    kind: 'split',
    arms,
    bucketBy: chain[0],
    bucketChain: chain,
    salt: saltFor(salt, bucketVersion),
    schedule,
    pausedAt,
  };
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
