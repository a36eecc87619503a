import { MAX_QUERY_BYTES, MAX_QUERY_PARAMS } from '../limits.js';
import { isDecodable, safeDecode } from './decode.js';
import { decodesTo } from './key-match.js';
import { spellsKey } from './key-spelling.js';
import { READ_ABSENT, READ_AMBIGUOUS, READ_TOO_LONG, type KeyRead } from './read.js';

/**
 * Reads one query parameter from a query string (with or without the leading `?`), with
 * `URLSearchParams` semantics (`+` is a space) but bounded (8 KiB before any scan, then at most
 * 256 parameters), linear, and without exceptions or a map (AMP-01). The key is case-sensitive (QS-06); `gray[]` is a different
 * key (QS-04); a repeated key is ambiguous (QS-03); a fragment is never part of the query.
 *
 * @example
 * ```ts
 * readQueryParam('?gray=beta&x=1', 'gray'); // { kind: 'value', value: 'beta' }
 * ```
 */
export function readQueryParam(search: string | undefined, name: string): KeyRead {
  const text = queryText(search);
  if (text === undefined) return READ_ABSENT;
  if (text.length > MAX_QUERY_BYTES) return READ_TOO_LONG;
  let found: string | undefined;
  let count = 0;
  scanQuery(text, (keyStart, keyEnd, valueStart, valueEnd, plainKey) => {
    if (!keyIs(text, keyStart, keyEnd, name, plainKey)) return;
    count++;
    const raw = text.slice(valueStart, valueEnd);
    found = safeDecode(raw, true) ?? raw;
  });
  if (count > 1) return READ_AMBIGUOUS;
  return found === undefined ? READ_ABSENT : { kind: 'value', value: found };
}

/** Every query parameter, parsed once: decoded key → raw values (a `Map`). */
export type QueryPairs = ReadonlyMap<string, readonly string[]>;

/** Parses a query string once (AMP-02). `too_long` over the 8 KiB cap, as {@link readQueryParam}. */
export function parseQueryPairs(search: string | undefined): QueryPairs | 'too_long' {
  const pairs = new Map<string, string[]>();
  const text = queryText(search);
  if (text === undefined) return pairs;
  if (text.length > MAX_QUERY_BYTES) return 'too_long';
  scanQuery(text, (keyStart, keyEnd, valueStart, valueEnd, plainKey, escapedKey) => {
    // A key with a bad escape is skipped before anything is allocated for it.
    if (escapedKey && !isDecodable(text, keyStart, keyEnd)) return;
    const rawKey = text.slice(keyStart, keyEnd);
    const key = plainKey ? rawKey : escapedKey ? decodeChecked(rawKey) : rawKey.replace(/\+/g, ' ');
    if (key === undefined) return;
    const value = text.slice(valueStart, valueEnd);
    const list = pairs.get(key);
    if (list) list.push(value);
    else pairs.set(key, [value]);
  });
  return pairs;
}

/** The {@link KeyRead} for one key of parsed pairs: same rules as {@link readQueryParam}. */
export function queryRead(pairs: QueryPairs | 'too_long', name: string): KeyRead {
  if (pairs === 'too_long') return READ_TOO_LONG;
  const raw = pairs.get(name);
  if (raw === undefined || raw.length === 0) return READ_ABSENT;
  if (raw.length > 1) return READ_AMBIGUOUS;
  const value = raw[0] as string;
  return { kind: 'value', value: safeDecode(value, true) ?? value };
}

/**
 * Returns `url` (a request target `/path?query` or a bare query) without the parameter `name`
 * under every spelling a next hop could read as it (GW-01/02): `%67ray`, any letter case
 * (`GRAY`, `%47RAY`), the keys qs and Rack file under `gray` (`gray[]`, `[gray]`, `]gray`) and the
 * ones PHP reads as it (`+gray`, `gray%00x`; see `key-spelling.ts`); the readers stay exact
 * (QS-06). The path and every other `&` part, empty ones too (`a=1&&b=2&`), are kept byte for byte;
 * a query left with nothing but empty parts goes with its `?`. Unchanged when no key is a
 * spelling (callers on a hot path first ask `mayHoldKey`, one scan for a `%` and the name in any
 * case). Every parameter is looked at, past the readers' 256 too (a marker graylane never read
 * must not travel on), and only spellings go: the scan is linear, each key compared until its
 * first character that differs (review 145 D3: the rest past 256 used to be dropped whole when it
 * held a `%` or the name in any case — a `name=Grayson` lost every parameter after the 256th).
 *
 * A part that holds `;` is several parameters to a reader that splits there too (qs with
 * `delimiter: /[&;]/`, Rack 2): of a part whose key spells the name, its first parameter goes and
 * so does every later one that spells it, each judged on its own; the others stay with their `;`
 * (`gray=beta;y=2` becomes `;y=2`), as {@link removeSemicolonParams} keeps separators.
 *
 * @example
 * ```ts
 * removeQueryParam('/a?x=1&gray=beta&GRAY=beta', 'gray'); // '/a?x=1'
 * removeQueryParam('/a?gray=beta;y=2&z=1', 'gray'); // '/a?;y=2&z=1'
 * ```
 */
export function removeQueryParam(url: string, name: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const end = hash === -1 ? url.length : hash;
  const text = url.slice(q + 1, end);
  const n = text.length;
  // One pass: runs of kept parts are sliced whole, never copied one by one (AMP-01).
  let out: string | undefined;
  let runStart = -1;
  let runEnd = -1;
  let filled = false; // a kept part is not empty
  let removed = false;
  let eq = -1;
  let semi = -1; // like `eq`, the next `;`: searched again only once passed (linear)
  for (let from = 0; from <= n;) {
    let to = text.indexOf('&', from);
    if (to === -1) to = n;
    if (eq < from) eq = after(text.indexOf('=', from), n);
    if (to > from && spellsKey(text, from, eq < to ? eq : to, name, true)) {
      removed = true;
      if (runStart !== -1) out = joined(out, text.slice(runStart, runEnd));
      runStart = -1;
      if (semi < from) semi = after(text.indexOf(';', from), n);
      const rest = keptSubParams(text, semi, to, name);
      if (rest !== undefined) {
        out = joined(out, rest);
        filled = true;
      }
    } else {
      if (runStart === -1) runStart = from;
      runEnd = to;
      if (to > from) filled = true;
    }
    from = to + 1;
  }
  if (!removed) return url;
  if (runStart !== -1) out = joined(out, text.slice(runStart, runEnd));
  return `${url.slice(0, q)}${filled ? `?${out as string}` : ''}${url.slice(end)}`;
}

function joined(out: string | undefined, part: string): string {
  return out === undefined ? part : `${out}&${part}`;
}

/**
 * What stays of a part that ends at `to`, whose key spells `name` and whose first `;` is at
 * `semi`: its `;` parameters after the first, each with the `;` before it, but those that spell
 * the name ({@link removeSemicolonParams} judges them); undefined when none that is not empty
 * stays. Linear in the part.
 */
function keptSubParams(text: string, semi: number, to: number, name: string): string | undefined {
  if (semi >= to) return undefined;
  const rest = removeSemicolonParams(`?${text.slice(semi, to)}`, name).slice(1);
  return /[^;]/.test(rest) ? rest : undefined;
}

/**
 * @internal `url` without the `name` parameters a reader that splits at `;` finds (edge and
 * signed mode, GW-02): a router that ends the path at its first `;` (fastify 4's default,
 * `useSemicolonDelimiter`) reads what follows as the query, so after that `;` every `;` or `&`
 * starts a parameter there (a value ends at `;`, `&`, `/` or the query); in the query, a `;`
 * starts one for the parsers that split at `;` too, and what comes before a part's first `;` is
 * one to them (`?gray;y=2` becomes `?;y=2`). Every spelling {@link removeQueryParam}
 * removes goes (`%67ray`, `GRAY`, `gray[]`). Only the parameter goes, its separator
 * stays (`/admin;gray=beta` becomes `/admin;`, `/p/..;gray=beta/x` `/p/..;/x`): no segment
 * changes its kind — a removal never makes a `..` a resolver would follow, joins two segments or
 * changes the path a router that does not split at `;` routes. The authority of an absolute-form
 * target is never read. A fragment is kept. Linear.
 *
 * @example
 * ```ts
 * removeSemicolonParams('/a;gray=beta;x=1?y=2;gray=beta', 'gray'); // '/a;;x=1?y=2;'
 * ```
 */
export function removeSemicolonParams(url: string, name: string): string {
  const hash = url.indexOf('#');
  const end = hash === -1 ? url.length : hash;
  const first = url.indexOf(';', pathStart(url, end));
  if (first === -1 || first >= end) return url;
  const q = url.indexOf('?');
  const qs = q !== -1 && q < end ? q : end;
  let out = '';
  let pos = 0; // copied up to here
  let i = first < qs ? first : qs;
  while (i < end) {
    const c = url.charCodeAt(i);
    const inPath = i < qs;
    // In the query, what comes before a part's first `;` is a parameter to a `;` reader too.
    const part = !inPath && (c === 0x26 || i === qs);
    if (!(c === 0x3b || (inPath && c === 0x26) || part)) {
      i++;
      continue;
    }
    // The parameter after the separator at `i`: [from, to), its key [from, keyEnd).
    const from = i + 1;
    const stop = inPath ? qs : end;
    let to = from;
    let keyEnd = -1;
    for (; to < stop; to++) {
      const d = url.charCodeAt(to);
      if (d === 0x3b || d === 0x26 || (inPath && d === 0x2f)) break;
      if (d === 0x3d && keyEnd === -1) keyEnd = to;
    }
    if (keyEnd === -1) keyEnd = to;
    // A whole `&` part is `removeQueryParam`'s (a marker kept there stays).
    const judged = !part || url.charCodeAt(to) === 0x3b;
    if (judged && keyEnd > from && spellsKey(url, from, keyEnd, name, true)) {
      out += url.slice(pos, from);
      pos = to;
    }
    i = to;
  }
  return pos === 0 ? url : out + url.slice(pos);
}

/** Where the path of `url` starts: 0, or past the authority of an absolute-form target. */
function pathStart(url: string, end: number): number {
  const m = /^[a-z][a-z\d+.-]*:\/\//i.exec(url);
  if (m === null) return 0;
  for (let i = m[0].length; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) return i;
  }
  return end;
}

/**
 * {@link safeDecode} with `+` as a space, for a key {@link isDecodable} already accepted: the
 * native decoder (several times faster on escape-heavy keys), which then cannot throw; the catch
 * is a guard, never a path (AMP-01).
 */
function decodeChecked(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.includes('+') ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return undefined;
  }
}

function queryText(search: string | undefined): string | undefined {
  if (typeof search !== 'string' || search === '') return undefined;
  let text = search.charCodeAt(0) === 0x3f ? search.slice(1) : search;
  const hash = text.indexOf('#');
  if (hash !== -1) text = text.slice(0, hash);
  return text;
}

/**
 * Visits each non-empty `key[=value]` part once, in order. Every part, empty or not, counts
 * toward {@link MAX_QUERY_PARAMS} and the scan stops there (AMP-01). Linear: each separator
 * search resumes where it last stopped, so no text is searched twice. `plainKey` is true when
 * the key has no `%` or `+`, `escapedKey` when it has a `%`. Returns where the scan stopped (the text's length when it read all).
 */
function scanQuery(
  text: string,
  visit: (
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    plainKey: boolean,
    escapedKey: boolean,
  ) => void,
  limit: number = MAX_QUERY_PARAMS,
): number {
  const n = text.length;
  let from = 0;
  let parts = 0;
  let eq = -1;
  let pct = -1;
  let plus = -1;
  while (from <= n) {
    if (parts >= limit) return from;
    let end = text.indexOf('&', from);
    if (end === -1) end = n;
    parts++;
    if (end > from) {
      if (eq < from) eq = after(text.indexOf('=', from), n);
      if (pct < from) pct = after(text.indexOf('%', from), n);
      if (plus < from) plus = after(text.indexOf('+', from), n);
      const keyEnd = eq < end ? eq : end;
      const escapedKey = pct < keyEnd;
      visit(
        from,
        keyEnd,
        keyEnd === end ? end : keyEnd + 1,
        end,
        !escapedKey && plus >= keyEnd,
        escapedKey,
      );
    }
    from = end + 1;
  }
  return n;
}

/** `indexOf`'s "not found" as a position past the end, so it is never searched for again. */
function after(index: number, n: number): number {
  return index === -1 ? n + 1 : index;
}

/** True when the key `text[start, end)` decodes to `name`; compared in place, never decoded. */
function keyIs(text: string, start: number, end: number, name: string, plainKey: boolean): boolean {
  if (plainKey) return end - start === name.length && text.startsWith(name, start);
  return decodesTo(text, start, end, name, true);
}
