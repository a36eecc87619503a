import type { JsonValue } from '../json/parse.js';
import type { Issues } from './issues.js';

/** RFC 9110 §9.1: a method is a `token` (an affix may be empty: that is a warning already). */
const METHOD_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

/**
 * A `host` or `method` matcher document with its literal values (`equals`, `in`, `prefix`,
 * `suffix`) as the platforms deliver the field, so a rule that can never match does not load
 * silently (review 127 D2):
 * - host: lower-case, without the port (Node's `Host` through `hostOnly`, a Fetch URL's
 *   `hostname`, the browser's `location.hostname`): a value is lower-cased, and one with a `:`
 *   outside IPv6 brackets (`api.example.com:8443`, `[::1]:80`, a bare `::1`) is refused;
 * - method: upper-case, as on the request line (Node's parser accepts nothing else; Fetch
 *   upper-cases the standard methods): a value is upper-cased, one that is not a token refused.
 * Anything else (`regex`, `exists`, a malformed matcher) is returned as it is, for the matcher
 * compiler to judge. `explain` shows the normalized values: the ones compared.
 *
 * @example
 * ```ts
 * requestLineMatcher('host', { equals: 'API.Example.com' }, '$.rules[0].match.host', issues);
 * // { equals: 'api.example.com' }
 * ```
 */
export function requestLineMatcher(
  kind: 'host' | 'method',
  doc: JsonValue | undefined,
  path: string,
  issues: Issues,
): JsonValue | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  const [op, ...more] = Object.keys(doc);
  if (more.length > 0 || !(op === 'equals' || op === 'in' || op === 'prefix' || op === 'suffix'))
    return doc;
  const one = (v: JsonValue, at: string): JsonValue => {
    if (typeof v !== 'string') return v;
    if (kind === 'method') {
      if (!METHOD_CHARS.test(v) || (v === '' && (op === 'equals' || op === 'in')))
        issues.add(at, `${JSON.stringify(v)} is not a method (a token, matched upper-case)`);
      return v.toUpperCase();
    }
    // A `:` outside IPv6 brackets: a port, or a bare IPv6 address. A prefix may stop inside the
    // brackets (`[2001:db8`), a suffix start inside them (`::1]`).
    const close = v.lastIndexOf(']');
    const rest = close === -1 ? (op === 'prefix' && v.startsWith('[') ? '' : v) : v.slice(close);
    if (rest.includes(':'))
      issues.add(
        at,
        `${JSON.stringify(v)} never matches: the host is matched lower-case, without its port, IPv6 in brackets ("[::1]")`,
      );
    return v.toLowerCase();
  };
  const arg = doc[op];
  const at = `${path}.${op}`;
  return {
    [op]: Array.isArray(arg) ? arg.map((v, i) => one(v, `${at}[${i}]`)) : one(arg as JsonValue, at),
  };
}
