/**
 * Secrets the CLI has seen (etcd passwords, URL userinfo, key files), kept once per process so
 * every diagnostic the CLI prints — errors, warnings, crash reports, `--json` error fields — can
 * be scrubbed (MISC-03). Data a command prints (a config, a rendered snippet) is never scrubbed:
 * it is the user's own data, and changing it would corrupt what is piped on (`pause | push`).
 */
const KEY = Symbol.for('@graylane/cli.secrets.v2');
/** Secret text → what is printed in its place. */
type Holder = { [KEY]?: Map<string, string> };

/**
 * A bare secret shorter than this is not scrubbed as free text: `user` or a 1-character key
 * occurs inside ordinary words (`x-user-group`, every `e`), and scrubbing it would mangle the
 * message while telling a reader the secret anyway. Such a secret is still scrubbed where the
 * CLI could echo it: in the URL userinfo it came from (`ops:user@` → `ops:***@`), see
 * {@link addUrlUserinfo}.
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
 * (`unknown command "…"` quotes what it echoes: a `"` or `\` in a password is escaped there).
 */
function spellings(text: string): Set<string> {
  return new Set([text, encodeURIComponent(text), JSON.stringify(text).slice(1, -1)]);
}

/**
 * Registers the userinfo of a URL as written (`ops`, `:`, `p/w`, `@`): `ops:p/w@` is scrubbed to
 * `ops:***@`, whatever the password's length, since the text around it (`:` before, `@` after)
 * cannot occur in an ordinary word. `separator` and `end` are `:` and `@`, or `%3A` and `%40`
 * where the URL was typed percent-encoded.
 */
export function addUrlUserinfo(user: string, separator: string, password: string, end = '@'): void {
  const json = (t: string): string => JSON.stringify(t).slice(1, -1);
  registry().set(`${user}${separator}${password}${end}`, `${user}${separator}***${end}`);
  registry().set(
    json(`${user}${separator}${password}${end}`),
    json(`${user}${separator}***${end}`),
  );
}

/**
 * `scheme://user:password@` → `scheme://user:***@` (any URL, even one never parsed by us), in
 * any spelling of the `//`: none, one, three, backslashes (`etcd:/ops:pw@`, `etcd:\\ops:pw@`).
 */
const USERINFO = /([a-z][a-z0-9+.-]*:[/\\]*)([^/\\@\s:]*):([^/@\s]*)@/gi;

/**
 * Removes every registered secret and every URL password from a diagnostic `text`.
 *
 * @example
 * ```ts
 * redact('cannot read etcd://ops:hunter2@db:2379/k'); // 'cannot read etcd://ops:***@db:2379/k'
 * ```
 */
export function redact(text: string): string {
  let out = text;
  // Registered secrets first, longest first, so a secret that contains another (or the '@' the
  // URL pattern below stops at) is removed whole; then any URL password never registered.
  for (const [secret, shown] of [...registry()].sort(([a], [b]) => b.length - a.length))
    out = out.split(secret).join(shown);
  return out.replace(USERINFO, '$1$2:***@');
}
