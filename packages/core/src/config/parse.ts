import { invalidConfig, type ConfigIssue } from '../errors.js';
import { shortHash } from '../hash/bucket.js';
import { utf8LengthUpTo } from '../hash/utf8.js';
import { canonicalJson } from '../json/canonical.js';
import {
  JsonError,
  parseJson,
  toJsonValue,
  type JsonObject,
  type JsonValue,
} from '../json/parse.js';
import {
  MAX_CONFIG_BYTES,
  MAX_CONFIG_DEPTH,
  MAX_REGEX_DOCUMENT_SIZE,
  MAX_RULES,
  MAX_VERSIONS,
} from '../limits.js';
import type { RegexEngine, RegexPredicate } from '../regex.js';
import { isVersionLabel } from '../version.js';
import { Issues } from './issues.js';
import { normalizeDocument } from './normalize.js';
import { compileRule } from './rule.js';
import type { CompiledRule, ConfigDocument, GrayConfig } from './types.js';

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /** A linear-time regex engine; required only when the config has `regex` matchers. */
  readonly regex?: RegexEngine | undefined;
}

/** The outcome of {@link validateConfig}: never throws. */
export type ValidationResult =
  | { readonly ok: true; readonly config: GrayConfig; readonly warnings: readonly ConfigIssue[] }
  | {
      readonly ok: false;
      readonly errors: readonly ConfigIssue[];
      readonly warnings: readonly ConfigIssue[];
    };

/** @internal Every field a document may have (the normal form keeps each but `$schema`). */
export const ROOT_KEYS: ReadonlySet<string> = new Set([
  '$schema',
  'versions',
  'default',
  'caseInsensitive',
  'rules',
]);

/**
 * Validates and compiles a configuration document. Every problem is reported at once, each with
 * its JSON path; the size, depth and count caps apply before any recursive validation.
 *
 * @throws GraylaneError with `code: 'INVALID_CONFIG'` and `issues`.
 * @example
 * ```ts
 * const config = parseConfig({
 *   versions: ['stable', 'beta'],
 *   default: 'stable',
 *   rules: [{ id: 'qa', match: { header: { 'x-user-group': { equals: 'qa' } } }, version: 'beta' }],
 * });
 * ```
 */
export function parseConfig(input: unknown, options: ParseConfigOptions = {}): GrayConfig {
  const result = validateConfig(input, options);
  if (!result.ok) throw invalidConfig(result.errors);
  return result.config;
}

/**
 * Like {@link parseConfig} but returns every error and warning instead of throwing.
 *
 * @example
 * ```ts
 * const result = validateConfig(text);
 * if (!result.ok) for (const e of result.errors) console.log(`${e.path}: ${e.message}`);
 * ```
 */
export function validateConfig(input: unknown, options: ParseConfigOptions = {}): ValidationResult {
  if (isGrayConfig(input)) return { ok: true, config: input, warnings: [] };
  const issues = new Issues();
  const doc = readDocument(input, issues);
  if (doc === undefined) return { ok: false, errors: issues.errors, warnings: issues.warnings };
  const config = compile(doc, issues, options.regex);
  if (!config || issues.errors.length > 0) {
    return { ok: false, errors: issues.errors, warnings: issues.warnings };
  }
  return { ok: true, config, warnings: issues.warnings };
}

/**
 * True for a config built by {@link parseConfig} (checked by brand, so it works across package
 * copies).
 *
 * @example
 * ```ts
 * const config = isGrayConfig(value) ? value : parseConfig(value);
 * ```
 */
export function isGrayConfig(value: unknown): value is GrayConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'graylane.config' &&
    typeof (value as { canonical?: unknown }).canonical === 'string'
  );
}

function readDocument(input: unknown, issues: Issues): JsonObject | undefined {
  let value: JsonValue;
  try {
    if (typeof input === 'string') {
      if (utf8LengthUpTo(input, MAX_CONFIG_BYTES) > MAX_CONFIG_BYTES) {
        return issues.add('$', `document larger than ${MAX_CONFIG_BYTES} bytes`);
      }
      if (input.trim() === '') return issues.add('$', 'document is empty');
      value = parseJson(input, MAX_CONFIG_DEPTH);
    } else {
      value = toJsonValue(input, MAX_CONFIG_DEPTH);
    }
  } catch (err) {
    if (err instanceof JsonError) return issues.add(err.path, err.message);
    return issues.add('$', `unreadable document: ${String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return issues.add('$', 'the document must be a JSON object');
  }
  return value;
}

/**
 * `engine`, for one document: the programs it compiles together stay within
 * {@link MAX_REGEX_DOCUMENT_SIZE} instructions (RX-05), counted where the engine tells a program's
 * size. The regex that passes the cap fails, naming the sum and the largest pattern so far (the
 * rule to rewrite first), as an invalid regex does. Refused regexes count too, for what they stand
 * for (a refusal carries its `instructions`: the program found too large, or its lower bound, or
 * the length of a pattern re2js could not read); once the count passes the cap, the document is
 * refused and its further regexes are refused without compiling (RX-06): one document no longer
 * compiles 1,000 patterns only to refuse each. A document that loads never gets there.
 */
function withDocumentBudget(engine: RegexEngine): RegexEngine {
  let total = 0;
  // Instructions compiled or refused for this document: accepted programs and refusals.
  let spent = 0;
  // The largest program seen, named in the refusal: the rule to rewrite first.
  let largest = 0;
  let largestPattern = '';
  return {
    name: engine.name,
    compile(pattern) {
      if (spent > MAX_REGEX_DOCUMENT_SIZE)
        throw new Error(
          `not compiled: this document's regexes already stand for ${spent} instructions, over ${MAX_REGEX_DOCUMENT_SIZE}, and it is refused`,
        );
      let find: RegexPredicate;
      try {
        find = engine.compile(pattern);
      } catch (err) {
        const cost = (err as { instructions?: unknown } | undefined)?.instructions;
        if (typeof cost === 'number' && cost > 0) spent += cost;
        throw err;
      }
      const size = find.instructions;
      if (typeof size === 'number') {
        spent += size;
        if (size > largest) {
          largest = size;
          largestPattern = pattern;
        }
        if (total + size > MAX_REGEX_DOCUMENT_SIZE)
          throw new Error(
            `with this one the document's regex programs total ${total + size} instructions, over ${MAX_REGEX_DOCUMENT_SIZE}; the largest is ${JSON.stringify(largestPattern)} (${largest})`,
          );
        total += size;
      }
      return find;
    },
  };
}

function compile(
  doc: JsonObject,
  issues: Issues,
  regex: RegexEngine | undefined,
): GrayConfig | undefined {
  for (const key of Object.keys(doc)) {
    if (!ROOT_KEYS.has(key)) issues.add(`$.${key}`, 'unknown field');
  }
  const versions = readVersions(doc['versions'], issues);
  const fallback = doc['default'];
  if (typeof fallback !== 'string' || !versions.includes(fallback)) {
    issues.add(
      '$.default',
      `must be one of the declared versions (${versions.join(', ') || 'none'})`,
    );
  }
  const ci = doc['caseInsensitive'];
  if (ci !== undefined && typeof ci !== 'boolean')
    issues.add('$.caseInsensitive', 'must be true or false');
  const rules = readRules(
    doc['rules'],
    new Set(versions),
    issues,
    regex && withDocumentBudget(regex),
  );
  if (issues.errors.length > 0 || typeof fallback !== 'string') return undefined;
  assignReadSlots(rules);

  // Compared in its normal form: a document that spells out a default, writes a header name in
  // capitals or an instant in another offset means the same config, and is no change (I6).
  const document = normalizeDocument(doc);
  const canonical = canonicalJson(document);
  const versionSet: ReadonlySet<string> = new Set(versions);
  return Object.freeze({
    kind: 'graylane.config' as const,
    versions: Object.freeze(versions),
    default: fallback,
    caseInsensitive: ci === true,
    rules: Object.freeze(rules),
    document: document as unknown as ConfigDocument,
    canonical,
    hash: shortHash(canonical),
    hasVersion: (v: string) => versionSet.has(v),
  });
}

/**
 * Gives every condition the slot of the value it reads (kind and name): a request reads each
 * distinct value once, however many rules test it (`decide` caches it per call).
 */
function assignReadSlots(rules: readonly CompiledRule[]): void {
  const slots = new Map<string, number>();
  for (const rule of rules)
    for (const c of rule.conditions) {
      const key = `${c.kind}\u0000${c.name ?? ''}`;
      let slot = slots.get(key);
      if (slot === undefined) slots.set(key, (slot = slots.size));
      (c as { slot?: number }).slot = slot;
    }
}

function readVersions(value: JsonValue | undefined, issues: Issues): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_VERSIONS) {
    issues.add('$.versions', `must be a list of 1 to ${MAX_VERSIONS} version labels`);
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if (!isVersionLabel(v)) issues.add(`$.versions[${i}]`, 'must match ^[a-z][a-z0-9_-]{0,31}$');
    else if (out.includes(v)) issues.add(`$.versions[${i}]`, `duplicate version "${v}"`);
    else out.push(v);
  });
  return out;
}

function readRules(
  value: JsonValue | undefined,
  versions: ReadonlySet<string>,
  issues: Issues,
  regex: RegexEngine | undefined,
): CompiledRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return issues.add('$.rules', 'must be a list') ?? [];
  if (value.length > MAX_RULES) return issues.add('$.rules', `more than ${MAX_RULES} rules`) ?? [];
  const ids = new Set<string>();
  const out: CompiledRule[] = [];
  value.forEach((doc, i) => {
    const rule = compileRule(doc, `$.rules[${i}]`, { versions, ids, issues, regex });
    if (rule) out.push(rule);
  });
  return out;
}
