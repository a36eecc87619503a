/**
 * One form of a host for every reader: the WHATWG URL host parser's (what a Fetch `Request`'s
 * `url.hostname` and the browser's `location.hostname` hold). Node's `Host` header and a rule's
 * literal value are brought to it, so `bücher.example`, `127.1`, `0x7f.0.0.1`, `shop%2eexample` or
 * `[::ffff:127.0.0.1]` match alike in Node, the Web engine, the browser and `explain`
 * (review 134 D4).
 */

/** A last label the host parser reads as an IPv4 number (URL Standard: "ends in a number"). */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;
/** An IPv4 address as the URL serializer writes it: four decimal parts, no leading zeros. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/**
 * What makes `http://${name}/` more than a host (a userinfo, path, query or fragment) or what
 * the URL parser drops without a word (tab, newline): never a host.
 */
const NOT_A_HOST = /[\s/?#@\\]/;

type UrlCtor = new (input: string) => { readonly hostname: string };

/**
 * True when `name` (no port) is already in the URL host parser's form: lower-case letters,
 * digits, `.` and `-`, no punycode label (`xn--`, which the parser validates) and, when its last
 * label is numeric, a dotted-decimal IPv4 address. One pass over the characters: the check that
 * keeps the parser off the hot path for `shop.example` and `127.0.0.1`.
 */
export function isCanonicalHost(name: string): boolean {
  const n = name.length;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) label = i + 1;
    else if (c === 0x78 /* x */ && i === label && name.startsWith('n--', i + 1)) return false;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d)) return false;
  }
  if (n === 0) return false;
  // The last label, before one trailing dot; only one starting with a digit can be a number.
  const end = label === n ? n - 1 : n;
  const start = label === n ? name.lastIndexOf('.', n - 2) + 1 : label;
  const first = name.charCodeAt(start);
  if (!(first >= 0x30 && first <= 0x39)) return true;
  return !NUMERIC_LABEL.test(name.slice(start, end)) || IPV4.test(name);
}

/**
 * `name` (a host without its port; IPv6 in brackets) as the WHATWG URL host parser gives it:
 * lower-case, punycode (`xn--bcher-kva.example`), IPv4 in dotted decimal (`127.0.0.1`), IPv6
 * compressed (`[::ffff:7f00:1]`), percent-escapes decoded. `undefined` when the parser refuses it
 * (`shop%zz`, `a.1`, a space, a port) — no Fetch runtime or browser has such a host. Where the
 * runtime has no `URL`, lower-cased. Never throws. The hot path's {@link canonicalHost} skips
 * the parser for plain spellings; config loading calls this directly.
 *
 * @example
 * ```ts
 * parseHost('Bücher.example'); // 'xn--bcher-kva.example'
 * parseHost('0x7f.1');         // '127.0.0.1'
 * ```
 */
export function parseHost(name: string): string | undefined {
  if (name === '' || NOT_A_HOST.test(name)) return undefined;
  // A `:` outside brackets is a port; text after `]` is not part of an IPv6 host.
  if (name.charCodeAt(0) === 0x5b ? name.indexOf(']') !== name.length - 1 : name.includes(':'))
    return undefined;
  const URLImpl = (globalThis as { URL?: UrlCtor }).URL;
  if (URLImpl === undefined) return name.toLowerCase();
  try {
    return new URLImpl(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * {@link parseHost} for a request's host, without the parser for a spelling already in its form
 * (`shop.example`, `127.0.0.1`, or one that only needs lower-casing), and with the last other
 * spelling remembered.
 *
 * @example
 * ```ts
 * canonicalHost('shop.example'); // 'shop.example' (no parser)
 * canonicalHost('127.1');        // '127.0.0.1'
 * ```
 */
export function canonicalHost(name: string): string | undefined {
  if (isCanonicalHost(name)) return name;
  const lower = name.toLowerCase();
  if (lower !== name && isCanonicalHost(lower)) return lower;
  if (name !== slow.name) {
    slow.host = parseHost(name);
    slow.name = name;
  }
  return slow.host;
}

/**
 * The last spelling that took the parser, and its result: a server whose every request says
 * `Host: xn--bcher-kva.example` or `[::1]:8080` parses it once, not per request (~1 µs each).
 */
const slow: { name: string | undefined; host: string | undefined } = {
  name: undefined,
  host: undefined,
};
