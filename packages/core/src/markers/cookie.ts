import { MAX_COOKIE_HEADER_BYTES } from '../limits.js';
import { safeDecode } from './decode.js';
import { trimOws } from './parse.js';
import { READ_ABSENT, READ_AMBIGUOUS, READ_TOO_LONG, type KeyRead } from './read.js';

/**
 * Reads one cookie from a `Cookie` header. Bounded: only pairs whose name equals `name` are
 * decoded. Several header lines (HTTP/1.1) or HTTP/2 crumbs are joined with `; ` (CK-08).
 * The same name twice with different values is ambiguous (CK-02); one DQUOTE pair is stripped
 * (CK-04); undecodable escapes yield the raw text, which then fails validation (CK-03).
 *
 * @example
 * ```ts
 * readCookie('a=1; gray=beta', 'gray'); // { kind: 'value', value: 'beta' }
 * ```
 */
export function readCookie(header: string | readonly string[] | undefined, name: string): KeyRead {
  if (header === undefined) return READ_ABSENT;
  const text = typeof header === 'string' ? header : Array.isArray(header) ? header.join('; ') : '';
  if (text.length > MAX_COOKIE_HEADER_BYTES) return READ_TOO_LONG;
  let found: string | undefined;
  let from = 0;
  while (from < text.length) {
    let end = text.indexOf(';', from);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', from);
    if (eq !== -1 && eq < end && trimOws(text.slice(from, eq)) === name) {
      const value = cookieValue(text.slice(eq + 1, end));
      if (found !== undefined && found !== value) return READ_AMBIGUOUS;
      found = value;
    }
    from = end + 1;
  }
  return found === undefined ? READ_ABSENT : { kind: 'value', value: found };
}

function cookieValue(raw: string): string {
  let v = trimOws(raw);
  if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22)
    v = v.slice(1, -1);
  return safeDecode(v) ?? v;
}
