/**
 * Secrets the CLI has seen (etcd passwords, URL userinfo), kept once per process so every line
 * the CLI prints — output, errors, crash reports — can be scrubbed (MISC-03).
 */
const KEY = Symbol.for('@graylane/cli.secrets');
type Holder = { [KEY]?: Set<string> };

function registry(): Set<string> {
  const holder = globalThis as Holder;
  return (holder[KEY] ??= new Set());
}

/** Registers a secret (and its percent-encoded form) to be scrubbed from every printed line. */
export function addSecret(secret: string): void {
  if (secret.length === 0) return;
  registry().add(secret);
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) registry().add(encoded);
}

/** `scheme://user:password@` → `scheme://user:***@` (any URL, even one never parsed by us). */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

/**
 * Removes every registered secret and every URL password from `text`.
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
  for (const secret of [...registry()].sort((a, b) => b.length - a.length))
    out = out.split(secret).join('***');
  return out.replace(USERINFO, '$1$2:***@');
}
