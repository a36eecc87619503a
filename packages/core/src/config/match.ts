import type { JsonValue } from '../json/parse.js';
import type { RegexEngine } from '../regex.js';
import type { Issues } from './issues.js';
import { conditionReader } from '../rules/lookup.js';
import { compileMatcher } from './matchers.js';
import { requestLineMatcher } from './request-line.js';
import type { CompiledCondition } from './types.js';

const KEYED = ['header', 'cookie', 'query', 'attrs'] as const;
const SINGLE = ['path', 'host', 'method'] as const;
/** @internal Every field a `match` block may have (the normal form keeps each). */
export const MATCH_KEYS: ReadonlySet<string> = new Set([
  'header',
  'cookie',
  'query',
  'attrs',
  'path',
  'host',
  'method',
]);
/** RFC 9110 token: header names graylane can look up. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/** Compiles a rule's `match` block; an absent block matches every request. */
export function compileMatch(
  doc: JsonValue | undefined,
  path: string,
  issues: Issues,
  regex: RegexEngine | undefined,
): CompiledCondition[] | undefined {
  if (doc === undefined) return [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return issues.add(path, 'must be an object');
  const before = issues.errors.length;
  const out: CompiledCondition[] = [];
  for (const key of Object.keys(doc)) {
    if (!MATCH_KEYS.has(key))
      issues.add(
        `${path}.${key}`,
        'unknown condition (header, cookie, query, attrs, path, host, method)',
      );
  }
  for (const kind of SINGLE) {
    if (doc[kind] === undefined) continue;
    const at = `${path}.${kind}`;
    // Host and method literals as the platforms deliver them (lower-case host without port,
    // upper-case method), or refused, as a path literal no request path has: never a rule that
    // loads and cannot match.
    const matcherDoc = requestLineMatcher(kind, doc[kind], at, issues);
    const matcher = compileMatcher(matcherDoc, at, issues, regex);
    if (matcher)
      out.push({ kind, name: undefined, matcher, read: conditionReader(kind, undefined) });
  }
  for (const group of KEYED) {
    const entries = doc[group];
    if (entries === undefined) continue;
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      issues.add(`${path}.${group}`, 'must be an object of name → matcher');
      continue;
    }
    const kind = group === 'attrs' ? 'attr' : group;
    const seen = new Set<string>();
    for (const name of Object.keys(entries)) {
      const at = `${path}.${group}.${name}`;
      // `X-A` and `x-a` are one header: two conditions on it that must both hold.
      if (kind === 'header' && seen.has(name.toLowerCase()))
        issues.warn(
          at,
          'header named twice (names are case-insensitive): both matchers must hold on the one header',
        );
      seen.add(name.toLowerCase());
      if (kind === 'header' && !HEADER_NAME.test(name)) issues.add(at, 'not a valid header name');
      else if (name.length === 0 || name.length > 256)
        issues.add(at, 'names must be 1–256 characters');
      else if (/[^\x21-\x7e]/.test(name))
        issues.warn(at, 'name has non-ASCII or space characters; lookups are byte-exact');
      const matcher = compileMatcher(entries[name], at, issues, regex);
      if (matcher) {
        const key = kind === 'header' ? name.toLowerCase() : name;
        out.push({ kind, name: key, matcher, read: conditionReader(kind, key) });
      }
    }
  }
  return issues.errors.length === before ? out : undefined;
}
