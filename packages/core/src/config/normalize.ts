import type { JsonObject, JsonValue } from '../json/parse.js';
import { BUCKET_SPACE } from '../limits.js';
import { Issues } from './issues.js';
import { requestLineMatcher } from './request-line.js';
import { parseInstant } from './window.js';

/**
 * The normal form of a document that validated: what it means, written one way, so two documents
 * that differ only in spelling have the same canonical JSON and the store sees no change (I6).
 * Defaults are left out (`$schema`, `caseInsensitive: false`, `rules: []`, `enabled: true`, a
 * `salt` equal to the id, `bucketVersion: 1`, the default `sticky`); header names are lower-cased
 * (as in `bucketBy`); host and method literals take the form they are matched in; an `in` list is
 * sorted without repeats, one value being an `equals`; instants are UTC (`…Z`); a split in basis
 * points that is whole percent is written in percent. The result is itself a valid document with
 * the same compiled meaning, so it can be stored (the backup) and loaded again. Description,
 * versions order and rule order are content and kept.
 */
export function normalizeDocument(doc: JsonObject): JsonObject {
  const out: JsonObject = {
    versions: doc['versions'] as JsonValue,
    default: doc['default'] as JsonValue,
  };
  if (doc['caseInsensitive'] === true) out['caseInsensitive'] = true;
  const rules = (doc['rules'] ?? []) as JsonObject[];
  if (rules.length > 0) out['rules'] = rules.map(normalizeRule);
  return out;
}

function normalizeRule(rule: JsonObject): JsonObject {
  const id = rule['id'] as string;
  const out: JsonObject = { id };
  copy(rule, out, 'description');
  if (rule['enabled'] === false) out['enabled'] = false;
  const match = normalizeMatch(rule['match'] as JsonObject | undefined);
  if (match) out['match'] = match;
  const window = rule['window'] as JsonObject | undefined;
  if (window) out['window'] = instants(window, ['from', 'until']);
  copy(rule, out, 'version');
  const schedule = rule['schedule'] as JsonObject[] | undefined;
  if (rule['split'] !== undefined) {
    out['split'] = arms(rule['split']);
    const chain = [rule['bucketBy'] as JsonValue].flat().map((s) => subject(s as string));
    out['bucketBy'] = chain.length === 1 ? (chain[0] as string) : chain;
    if (rule['salt'] !== undefined && rule['salt'] !== id) out['salt'] = rule['salt'];
    if (rule['bucketVersion'] !== undefined && rule['bucketVersion'] !== 1)
      out['bucketVersion'] = rule['bucketVersion'];
    if (schedule)
      out['schedule'] = schedule.map((s) => ({ ...instants(s, ['at']), split: arms(s['split']) }));
    Object.assign(out, instants(rule, ['pausedAt']));
  }
  // A scheduled ramp re-evaluates by default, anything else keeps (rule.ts).
  const sticky = rule['sticky'];
  if (sticky !== undefined && sticky !== (schedule ? 'reevaluate' : 'keep')) out['sticky'] = sticky;
  return out;
}

function copy(from: JsonObject, to: JsonObject, key: string): void {
  if (from[key] !== undefined) to[key] = from[key] as JsonValue;
}

const KEYED = ['header', 'cookie', 'query', 'attrs'] as const;

function normalizeMatch(match: JsonObject | undefined): JsonObject | undefined {
  if (!match) return undefined;
  const out: JsonObject = {};
  if (match['path'] !== undefined) out['path'] = matcher(match['path']);
  for (const kind of ['host', 'method'] as const)
    if (match[kind] !== undefined)
      out[kind] = matcher(requestLineMatcher(kind, match[kind], '$', new Issues()) as JsonValue);
  for (const group of KEYED) {
    const entries = match[group] as JsonObject | undefined;
    const names = Object.keys(entries ?? {});
    if (!entries || names.length === 0) continue;
    // Header names are case-insensitive; two spellings of one name stay as written (both hold).
    const lower =
      group === 'header' && new Set(names.map((n) => n.toLowerCase())).size === names.length;
    const keyed = Object.create(null) as JsonObject;
    for (const name of names)
      keyed[lower ? name.toLowerCase() : name] = matcher(entries[name] as JsonValue);
    out[group] = keyed;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `in` is a set: sorted, no repeats, and one value is an `equals`. */
function matcher(doc: JsonValue): JsonValue {
  const list = (doc as JsonObject)['in'];
  if (!Array.isArray(list)) return doc;
  const values = [...new Set(list as string[])].sort();
  return values.length === 1 ? { equals: values[0] as string } : { in: values };
}

/** `header:X-User` is read as `header:x-user`. */
function subject(text: string): string {
  return text.startsWith('header:') ? text.toLowerCase() : text;
}

/** Whole-percent basis points are written in percent (both sum to the same layout). */
function arms(split: JsonValue | undefined): JsonValue {
  const list = split as JsonObject[];
  const weights = list.map((a) => a['weight'] as number);
  const sum = weights.reduce((a, b) => a + b, 0);
  const scale = sum === BUCKET_SPACE && weights.every((w) => w % 100 === 0) ? 100 : 1;
  return list.map((a) => ({
    version: a['version'] as string,
    weight: (a['weight'] as number) / scale,
  }));
}

/** The named instants, in UTC; kept as written when UTC cannot say it in RFC 3339 (year 10000). */
function instants(from: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of keys) {
    const text = from[key];
    if (typeof text !== 'string') continue;
    const ms = parseInstant(text) as number;
    const utc = new Date(ms).toISOString().replace('.000Z', 'Z');
    out[key] = parseInstant(utc) === ms ? utc : text;
  }
  return out;
}
