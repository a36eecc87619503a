import type { JsonValue } from '../json/parse.js';
import { parseHost } from '../inbound/host.js';
import { rulePath, unescapePath } from '../inbound/path.js';
import type { Issues } from './issues.js';

/** RFC 9110 §9.1: a method is a `token` (an affix may be empty: that is a warning already). */
const METHOD_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

/**
 * A `host` or `method` matcher document with its literal values (`equals`, `in`, `prefix`,
 * `suffix`) as the platforms deliver the field, so a rule that can never match does not load
 * silently (review 127 D2):
 * - host: a URL's `hostname` (Node's `Host` through `hostOnly`, a Fetch URL's `hostname`, the
 *   browser's `location.hostname`): lower-case, no port, punycode, IPv4 dotted decimal, IPv6
 *   compressed in brackets (review 134 D4). An `equals`/`in` value is brought to that form
 *   (`Bücher.example` → `xn--bcher-kva.example`, `127.1` → `127.0.0.1`) or refused when the URL
 *   host parser refuses it; a `prefix`/`suffix` is lower-cased, and refused when it holds what no
 *   such host has (non-ASCII, `%`, a space). One with a `:` outside IPv6 brackets
 *   (`api.example.com:8443`, `[::1]:80`, a bare `::1`) is refused;
 * - method: upper-case, as on the request line (Node's parser accepts nothing else; Fetch
 *   upper-cases the standard methods): a value is upper-cased, one that is not a token refused;
 * - path: as {@link rulePath} gives it, and never with what a request path cannot hold (review 75
 *   N1: `/über` loaded and never matched `/%C3%BCber`): a literal is refused, never changed.
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
  kind: 'host' | 'method' | 'path',
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
    if (kind === 'path') {
      const fix = pathNeverMatches(v, op === 'equals' || op === 'in', op === 'suffix');
      if (fix !== undefined)
        issues.add(
          at,
          `${JSON.stringify(v)} never matches a request path (percent-encoded; no "?", "#", "\\", "%61"-style escape or dot segment)${fix ? `: write ${JSON.stringify(fix)}` : ''}`,
        );
      // Node takes these raw; fetch, browsers and a page's `location` send them encoded (`^`
      // too where the URL parser is recent: Node 24, review 79 N2).
      else if (/["<>`{}^]/.test(v))
        issues.warn(
          at,
          `${JSON.stringify(v)}: fetch and browsers send it encoded, ${JSON.stringify(v.replace(/["<>`{}^]/g, encodeURIComponent))}`,
        );
      return v;
    }
    if (kind === 'method') {
      if (!METHOD_CHARS.test(v) || (v === '' && (op === 'equals' || op === 'in')))
        issues.add(at, `${JSON.stringify(v)} is not a method (a token, matched upper-case)`);
      return v.toUpperCase();
    }
    const lower = v.toLowerCase();
    const whole = op === 'equals' || op === 'in';
    // A whole host in the parser's form; an affix as text (refused where no hostname has it).
    const host = whole ? parseHost(v) : lower;
    if (host === undefined || (!whole && neverInHostname(lower, op === 'prefix'))) {
      const fix = whole ? undefined : parseHost(v);
      issues.add(
        at,
        `${JSON.stringify(v)} never matches: the host is matched as a URL's hostname — lower-case, without its port, punycode, no %, IPv6 in brackets and hex ("[::1]")${fix && fix !== lower ? `: write ${JSON.stringify(fix)}` : ''}`,
      );
    }
    return host ?? lower;
  };
  const arg = doc[op];
  const at = `${path}.${op}`;
  return {
    [op]: Array.isArray(arg) ? arg.map((v, i) => one(v, `${at}[${i}]`)) : one(arg as JsonValue, at),
  };
}

/**
 * What never occurs in a URL's hostname: non-ASCII (punycode there), a `%`-escape (decoded), a
 * space or control character, or a character the URL host parser forbids.
 */
const NEVER_IN_HOST = /[^!-~]|[#%/<>?@\\^|]/;

/**
 * True when an affix can be in no hostname: what {@link NEVER_IN_HOST} names, a `:` outside IPv6
 * brackets (a port, or a bare IPv6 address; a prefix may stop inside the brackets, `[2001:db8`,
 * a suffix start inside them, `::1]`), or a `.` in an IPv6 affix (`[::ffff:127.`: hex there).
 */
function neverInHostname(affix: string, prefix: boolean): boolean {
  const close = affix.lastIndexOf(']');
  const rest = close === -1 ? (prefix && affix.startsWith('[') ? '' : affix) : affix.slice(close);
  return (
    NEVER_IN_HOST.test(affix) ||
    rest.includes(':') ||
    (/^\[|\]$/.test(affix) && affix.includes('.'))
  );
}

/** A `.` or `..` segment held whole (none is left in a request's path; a prefix may go on). */
const DOT_SEGMENT = /\/\.{1,2}(?:\/|$)/;

/**
 * Undefined when a path literal can match; otherwise the spelling to write (`''` when there is
 * none). Requests send non-ASCII and spaces percent-encoded (Node's parser refuses them raw, a URL
 * encodes them) and never a `?` or `#` in the path; a whole path must be its own
 * {@link rulePath} form, an affix hold nothing that form removes — `\\`, an escaped unreserved
 * character, a `.` or `..` segment it holds whole (a suffix's last one too: `/a/.` is `/a/`).
 */
function pathNeverMatches(v: string, whole: boolean, suffix: boolean): string | undefined {
  let encoded = v;
  try {
    encoded = v.replace(/[^!-~]+/g, encodeURIComponent);
  } catch {
    // A lone surrogate: no spelling to suggest.
  }
  const form = whole ? rulePath(encoded) : unescapePath(encoded);
  const dots = !whole && DOT_SEGMENT.test(suffix ? form : `${form}x`);
  if (form === v && !dots && !/[^!-~]|[?#]/.test(v)) return undefined;
  // The query or the fragment, a control character (a typo: a URL drops a tab), a lone surrogate.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  return dots || /[?#\0-\x1f\x7f]/.test(v) || /[^!-~]/.test(encoded) ? '' : form;
}
