import { CliError } from './io.js';
import { addSecret, addUrlUserinfo } from './secrets.js';

/** Where a command reads a document from (or `push` writes it to). */
export type Location =
  | { readonly kind: 'stdin'; readonly display: '-' }
  | { readonly kind: 'file'; readonly path: string; readonly display: string }
  | EtcdLocation;

/** `etcd://[user[:password]@]host[:port][,host[:port]…]/key`, or `etcds://…` for TLS. */
export interface EtcdLocation {
  readonly kind: 'etcd';
  /** `http://host:port` or `https://host:port` endpoints. */
  readonly hosts: readonly string[];
  readonly key: string;
  readonly tls: boolean;
  readonly username?: string | undefined;
  /** Never printed: registered as a secret and scrubbed from every diagnostic (MISC-03). */
  readonly password?: string | undefined;
  /** The password came from the URL (visible in `ps` and shell history: worth a warning). */
  readonly passwordInUrl: boolean;
  /** The location without any password, for messages. */
  readonly display: string;
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
const DEFAULT_ETCD_PORT = 2379;

/**
 * Parses a command-line location: `-` (stdin), `etcd://…` / `etcds://…`, or a file path.
 * A password (from the URL or `GRAYLANE_ETCD_PASSWORD`) is registered as a secret before anything
 * can print it, and never appears in `display`.
 */
export function parseLocation(text: string, env: NodeJS.ProcessEnv = process.env): Location {
  if (text === '-') return { kind: 'stdin', display: '-' };
  const scheme = /^(etcds?):\/\//i.exec(text)?.[1];
  if (scheme === undefined) return { kind: 'file', path: text, display: text };
  registerUrlSecrets(text, env);
  const body = text.slice(scheme.length + 3);
  const at = body.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : body.slice(0, at);
  const colonAt = userinfo?.indexOf(':') ?? -1;
  const rest = body.slice(at + 1);
  const slash = rest.indexOf('/');
  const hostList = slash === -1 ? rest : rest.slice(0, slash);
  const rawKey = slash === -1 ? '' : rest.slice(slash + 1);
  const safe = `${scheme}://${userinfo === undefined ? '' : '***@'}${rest}`;
  if (hostList === '' || rawKey === '')
    throw new CliError(
      `${safe}: expected etcd://[user@]host[:port][,host:port…]/key (etcds:// for TLS)`,
      2,
      'usage',
    );
  const tls = scheme.toLowerCase() === 'etcds';
  const hosts = hostList.split(',').map((h) => {
    const hm = HOST.exec(h);
    if (!hm || (hm[1] !== undefined && Number(hm[1]) > 65535))
      throw new CliError(`${safe}: ${JSON.stringify(h)} is not host[:port]`, 2, 'usage');
    return `${tls ? 'https' : 'http'}://${hm[1] === undefined ? `${h}:${DEFAULT_ETCD_PORT}` : h}`;
  });
  const key = safeDecode(rawKey);
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    username = safeDecode(colonAt === -1 ? userinfo : userinfo.slice(0, colonAt));
    if (colonAt !== -1) password = safeDecode(userinfo.slice(colonAt + 1));
  } else if (env['GRAYLANE_ETCD_USER']) {
    username = env['GRAYLANE_ETCD_USER'];
  }
  if (username !== undefined && password === undefined) password = env['GRAYLANE_ETCD_PASSWORD'];
  if (password !== undefined) addSecret(password);
  const shown = `${scheme}://${username === undefined ? '' : `${encodeURIComponent(username)}@`}${hostList}/${rawKey}`;
  if (username !== undefined && !password)
    throw new CliError(
      `${shown}: user ${username} has no password: set GRAYLANE_ETCD_PASSWORD`,
      2,
      'usage',
    );
  if (username === '') throw new CliError(`${shown}: empty user name`, 2, 'usage');
  const passwordInUrl = colonAt !== -1;
  return { kind: 'etcd', hosts, key, tls, username, password, passwordInUrl, display: shown };
}

/** Where an etcd URL starts inside a command-line argument (`--sample=etcd://…` too). */
const ETCD_URL = /etcds?:\/\//i;

/**
 * Registers, before anything is printed, the password of the etcd URL in `text` (if any) and
 * `GRAYLANE_ETCD_PASSWORD` (when an etcd URL is there to use it), to be scrubbed from diagnostics
 * (see `secrets.ts` for what is scrubbed where). The userinfo runs to the last
 * '@' (a password may hold '/', '@', ':' or spaces unencoded; hosts never hold '@'; a key that
 * does must encode it as %40), so no printed line — an echo of a mistyped command included —
 * can carry it (MISC-03).
 *
 * @example
 * ```ts
 * registerUrlSecrets('etcd://ops:a/b c@db:2379/k'); // 'a/b c' is now scrubbed from every line
 * ```
 */
export function registerUrlSecrets(text: string, env: NodeJS.ProcessEnv = process.env): void {
  const start = text.search(ETCD_URL);
  if (start === -1) return;
  if (env['GRAYLANE_ETCD_PASSWORD']) addSecret(env['GRAYLANE_ETCD_PASSWORD']);
  const body = text.slice(start).replace(ETCD_URL, '');
  const at = body.lastIndexOf('@');
  const colonAt = at === -1 ? -1 : body.slice(0, at).indexOf(':');
  if (colonAt === -1) return;
  const password = body.slice(colonAt + 1, at);
  addUrlUserinfo(body.slice(0, at));
  addSecret(password);
  addSecret(safeDecode(password));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
