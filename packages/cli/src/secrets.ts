import { printable } from './text.js';
import { fold } from './url-like.js';

/**
 * Secrets the CLI has seen (etcd passwords, URL userinfo, key files), kept once per process so
 * every diagnostic the CLI prints — errors, warnings, crash reports, `--json` error fields — can
 * be scrubbed (MISC-03). Data a command prints (a config, a rendered snippet) is never scrubbed:
 * it is the user's own data, and changing it would corrupt what is piped on (`pause | push`).
 * A line the CLI composes around a location (`push`'s `target … at revision …`) is scrubbed
 * where it is built: the location, never the data beside it.
 */
const KEY = Symbol.for('@graylane/cli.secrets.v2');
/** Secret text → what is printed in its place. */
type Holder = { [KEY]?: Map<string, string> };

/**
 * A bare secret shorter than this is not scrubbed as free text: `user` or a 1-character key
 * occurs inside ordinary words (`x-user-group`, every `e`), and scrubbing it would mangle the
 * message while telling a reader the secret anyway. Such a secret is still scrubbed where the
 * CLI could echo it: in the URL userinfo it came from (`ops:user@` → `***@`), see
 * {@link addUserinfo}.
 */
export const MIN_SCRUBBED_SECRET_LENGTH = 8;

function registry(): Map<string, string> {
  const holder = globalThis as Holder;
  return (holder[KEY] ??= new Map());
}

/**
 * Registers a secret (and its percent-encoded form) to be scrubbed from every diagnostic, when it
 * is at least {@link MIN_SCRUBBED_SECRET_LENGTH} characters long.
 */
export function addSecret(secret: string): void {
  if (secret.length < MIN_SCRUBBED_SECRET_LENGTH) return;
  for (const spelling of spellings(secret)) registry().set(spelling, '***');
}

/**
 * A secret as a message may spell it: as given, percent-encoded, and escaped inside a JSON string
 * (`unknown command "…"` quotes what it echoes: a `"` or `\` in a password is escaped there); each
 * also with its control and bidi characters escaped, as every message escapes text from input
 * (`text.ts`) before it is scrubbed here.
 */
function spellings(text: string): Set<string> {
  const json = JSON.stringify(text).slice(1, -1);
  return new Set([text, encodeURIComponent(text), json, printable(text), printable(json)]);
}

/** `:` or a look-alike, typed or percent-encoded, in folded text: a userinfo with a password. */
const SEPARATED = /[:;,]|%3[ab]|%2c/i;

/**
 * Registers the whole userinfo of a URL as written (`etcd:/`, `ops;p/w`, `@`): `etcd:/ops;p/w@`
 * is scrubbed to `etcd:/***@`, whatever the userinfo's length, since the text around it cannot
 * occur in an ordinary word; one with a password separator (`ops:pw@`) is scrubbed wherever it
 * occurs (`***@`). `prefix` is the URL's start as typed (`''` for a bare `user:pw@`); `end` is `@`,
 * `%40` or a look-alike, as typed.
 */
export function addUserinfo(prefix: string, userinfo: string, end = '@'): void {
  const json = (t: string): string => JSON.stringify(t).slice(1, -1);
  const set = (text: string, shown: string): void => {
    for (const spell of [(t: string) => t, json, printable, (t: string) => printable(json(t))])
      registry().set(spell(text), spell(shown));
  };
  set(`${prefix}${userinfo}${end}`, `${prefix}***${end}`);
  if (SEPARATED.test(fold(userinfo))) set(`${userinfo}${end}`, `***${end}`);
}

/**
 * `scheme://user:password@` → `scheme://***@` (any URL, even one never parsed by us), in any
 * spelling of the `//` (none, one, three, backslashes: `etcd:/ops:pw@`, `etcd:\\ops:pw@`) and of
 * the separators (`;` or `,` for `:`, fullwidth and look-alike forms, read on the folded text).
 */
const USERINFO =
  /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]*(?::|%3a)(?:[/\\]|%2f|%5c)*)([^/\\@\s:;,]*(?:[:;,]|%3[ab]|%2c)[^/@\s]*)(@|%40)/gi;

/**
 * Removes every registered secret and every URL userinfo with a password from a diagnostic `text`.
 *
 * @example
 * ```ts
 * redact('cannot read etcd://ops:hunter2@db:2379/k'); // 'cannot read etcd://***@db:2379/k'
 * ```
 */
export function redact(text: string): string {
  let out = text;
  // Registered secrets first, longest first, so a secret that contains another (or the '@' the
  // URL pattern below stops at) is removed whole; then any URL userinfo never registered.
  for (const [secret, shown] of [...registry()].sort(([a], [b]) => b.length - a.length))
    out = out.split(secret).join(shown);
  return scrubUserinfo(out);
}

/** {@link USERINFO} matched on the folded text (same length), replaced in the text as given. */
function scrubUserinfo(text: string): string {
  let out = '';
  let last = 0;
  for (const m of fold(text).matchAll(USERINFO)) {
    const from = m.index + (m[1] as string).length;
    out += `${text.slice(last, from)}***`;
    last = from + (m[2] as string).length;
  }
  return out + text.slice(last);
}
