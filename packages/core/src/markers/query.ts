import { MAX_QUERY_BYTES } from '../limits.js';
import { safeDecode } from './decode.js';
import { READ_ABSENT, READ_AMBIGUOUS, READ_TOO_LONG, type KeyRead } from './read.js';

/**
 * Reads one query parameter from a query string (with or without the leading `?`), with
 * `URLSearchParams` semantics (`+` is a space) but bounded and without building a map.
 * The key is case-sensitive (QS-06); `gray[]` is a different key (QS-04); a repeated key is
 * ambiguous (QS-03); a fragment is never part of the query.
 *
 * @example
 * ```ts
 * readQueryParam('?gray=beta&x=1', 'gray'); // { kind: 'value', value: 'beta' }
 * ```
 */
export function readQueryParam(search: string | undefined, name: string): KeyRead {
  if (search === undefined || search === '') return READ_ABSENT;
  let text = search.charCodeAt(0) === 0x3f ? search.slice(1) : search;
  const hash = text.indexOf('#');
  if (hash !== -1) text = text.slice(0, hash);
  if (text.length > MAX_QUERY_BYTES) return READ_TOO_LONG;
  let found: string | undefined;
  let count = 0;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    if (decodeComponent(rawKey) !== name) continue;
    count++;
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    found = decodeComponent(rawValue) ?? rawValue;
  }
  if (count > 1) return READ_AMBIGUOUS;
  return found === undefined ? READ_ABSENT : { kind: 'value', value: found };
}

function decodeComponent(s: string): string | undefined {
  return safeDecode(s.includes('+') ? s.replace(/\+/g, ' ') : s);
}
