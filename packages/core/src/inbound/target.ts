import { spellsKey } from '../markers/key-spelling.js';
import { removeQueryParam, removeSemicolonParams } from '../markers/query.js';

/**
 * The request target as the Node middleware and `graylane explain` read it: one place, so the
 * rules' `path` and the query markers are read the same way by the server and by the tool that
 * explains its decisions; and the removal of a query marker from the target as it was sent.
 */

/**
 * A request target as the widest of its readers reads it. RFC 9112 has no fragment in a request
 * target and browsers never send one, but Node accepts a `#` there, and readers disagree about
 * it: fastify's find-my-way starts the query at the first `?` or `#` and reads a later `#` as a
 * character of it; express, koa and the WHATWG `URL` start it at the first `?` and end it at a
 * `#`; a proxy that splits at the first `?` (@fastify/reply-from) forwards `/p#x?gray=beta` as
 * `/p?gray=beta`; `URLSearchParams` given what follows that `?` drops one more leading `?`
 * (`/p??gray=beta`). graylane reads every parameter any of them could find, so what could be
 * taken for a marker is judged and, when it must go, removed (GW-02): the query starts at the
 * first `?` or `#`; every later `#`, the first `?` when a `#` came before it, and a `?` right
 * after the first `?` separate parameters like `&` (a value ends at a `#`, as in a fragment:
 * `?gray=beta#frag` names `beta`, QS-06). Any other `?` is a character of a value under every
 * reading (`?next=/a?b=1`) and stays one. Unchanged without a `#` or a `??`.
 */
export function routerTarget(url: string): string {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  const doubled = q !== -1 && url.charCodeAt(q + 1) === 0x3f;
  if (hash === -1 && !doubled) return url;
  const start = hash !== -1 && (q === -1 || hash < q) ? hash : q;
  let rest = url.slice(start + 1);
  for (const at of [q, doubled ? q + 1 : -1])
    if (at > start) rest = `${rest.slice(0, at - start - 1)}&${rest.slice(at - start)}`;
  return `${url.slice(0, start)}?${rest.replaceAll('#', '&')}`;
}

/**
 * GW-02: `url` (a request target or URL as the client sent it) without the query parameters
 * whose key spells one of `names` (`removeQueryParam`'s spellings) where any reader could find
 * them: in its {@link routerTarget} reading, after a `#` too. The edit is made on the bytes as
 * sent, so every separator that stays keeps its character and no reader finds a parameter it did
 * not find before (review 81 D3: writing the reading back made the `#` of `/p?gray=beta#&admin=1`
 * an `&`, and express read `admin=1`). A marker goes with the whole parameter find-my-way and a
 * first-`?` splitter read it in (to the next `&`: a `#` is a character to them) and one `&` next
 * to it, never one that would put a `?` right after the first `?` (`URLSearchParams` drops it).
 * Where that parameter holds the `#` that ends the query of express and the WHATWG `URL`, or the
 * first `?` a splitter starts at, the target ends before it instead: nothing else keeps each
 * reader from reading what followed as new. Without a `#` or a `??` this is `removeQueryParam`
 * (every other part, empty ones too, byte for byte), but for the `&` it keeps where a `?` would
 * follow the first `?` (`?gray=beta&?x=1` becomes `?&?x=1`, not `??x=1`: koa reads `x` there).
 * Each part is searched once forward; a removed one also back and forward to its `&`s, which
 * without any `&` is the whole target: one scan per removed marker (review 84 N2: 1 ms at 16 KiB).
 *
 * @example
 * ```ts
 * removeAsSent('/p#gray=beta&a=1', ['gray']); // '/p#a=1'
 * removeAsSent('/p?a=1&gray=beta#x&b=2', ['gray']); // '/p?a=1'
 * ```
 */
export function removeAsSent(url: string, names: readonly string[]): string {
  const read = routerTarget(url);
  const n = url.length;
  const start = read.indexOf('?');
  const q = url.indexOf('?');
  // Where the query of express and `URL` ends, when it starts at the first `?` (-1: no such `#`).
  const end = q === start ? url.indexOf('#', q) : -1;
  let out = '';
  let pos = 0; // `url` is copied to `out` up to here
  let eq = -1; // the next `=`, searched again only once passed (-1 >>> 0: none)
  let semi = -1; // the same for `;`
  for (let from = start + 1; start !== -1 && from <= n;) {
    let to = read.indexOf('&', from);
    if (to === -1) to = n;
    if (eq < from) eq = read.indexOf('=', from) >>> 0;
    if (!spelled(read, from, eq < to ? eq : to, names)) {
      from = to + 1;
      continue;
    }
    // The parameter the readers that split only at `&` find the marker in: [at, stop).
    const amp = url.lastIndexOf('&', from - 1);
    const at = amp > start ? amp + 1 : start + 1;
    let stop = url.indexOf('&', from);
    if (stop === -1) stop = n;
    const ampBefore = at > pos && url.charCodeAt(at - 1) === 0x26;
    if ((end >= at && end < stop) || (q > start && q >= at && q < stop)) {
      out += url.slice(pos, ampBefore ? at - 1 : at);
      pos = n;
      break;
    }
    // A parameter alone keeps its `;` parameters but the spellings, as `removeQueryParam` does,
    // between the separators it had.
    if (semi < at) semi = read.indexOf(';', at) >>> 0;
    let rest = at === from && to === stop && semi < stop ? `?${url.slice(at, stop)}` : '';
    for (const name of names) rest = removeQueryParam(rest, name);
    out += url.slice(pos, rest === '' && ampBefore ? at - 1 : at) + rest.slice(1);
    // Else the `&` after it goes, unless a `?` would then follow the first `?`.
    pos = rest || ampBefore || stop === n || url.charCodeAt(stop + 1) === 0x3f ? stop : stop + 1;
    from = stop + 1;
  }
  if (pos === 0) return url;
  out += url.slice(pos);
  // A query left with nothing but empty parts goes with its `?` or `#`.
  return /^&*$/.test(out.slice(start + 1)) ? out.slice(0, start) : out;
}

/** True when the key `text[start, end)` spells one of `names`. */
function spelled(text: string, start: number, end: number, names: readonly string[]): boolean {
  for (const name of names) if (spellsKey(text, start, end, name, true)) return true;
  return false;
}

/**
 * GW-02: `url` without the `;` parameters spelling one of `names` that
 * {@link removeSemicolonParams} finds in its {@link routerTarget} reading (after a `#` too),
 * removed from the bytes as sent. That removal takes runs that hold no separator and keeps every
 * separator, so the runs are found again by matching the result against the reading, character
 * by character, and every `#` and `?` stays as it was.
 */
export function removeSemicolonsAsSent(url: string, names: readonly string[]): string {
  const read = routerTarget(url);
  let edited = read;
  for (const name of names) edited = removeSemicolonParams(edited, name);
  if (edited === read || read === url) return edited === read ? url : edited;
  let out = '';
  for (let i = 0, j = 0; i < read.length; i++)
    if (read[i] === edited[j]) {
      out += url[i] as string;
      j++;
    }
  return out;
}

/** `scheme://` at the start of an absolute-form request target (RFC 3986 scheme, any case). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The origin form of a request target. Node hands an absolute-form target (`GET http://h/admin`,
 * what a forward proxy is sent, and what any client may send) to the app as it came, and
 * express, koa, fastify and hono all route it by its path (`/admin`), as RFC 9112 §3.2.2 has an
 * origin server do; the rules' `path` (and the query) must be read from the same place, or a
 * `path` rule is skipped for a request the router serves on that path. The scheme and authority
 * go (up to the first `/`, `?` or `#`, as the WHATWG `URL` and `url.parse` end them); the rest is
 * kept byte for byte, with a `/` in front when the path was empty. Anything else is unchanged.
 */
export function originForm(url: string): string {
  if (url.charCodeAt(0) === 0x2f) return url;
  const scheme = ABSOLUTE_FORM.exec(url);
  if (scheme === null) return url;
  const from = scheme[0].length;
  let end = url.length;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const rest = url.slice(end);
  return rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
}
