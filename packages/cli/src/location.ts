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
  registerUrlSecrets(text, env);
  const scheme = /^(etcds?):\/\//i.exec(text)?.[1];
  if (scheme === undefined) {
    notAUrl(text);
    return { kind: 'file', path: text, display: text };
  }
  const body = text.slice(scheme.length + 3);
  const at = body.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : body.slice(0, at);
  const colonAt = userinfo?.indexOf(':') ?? -1;
  const rest = body.slice(at + 1);
  // A '%40' where the hosts are (`ops:pw%40db/k`, `ops:p@w%40db/k`): a userinfo typed encoded.
  const hostsPart = (rest.split('/')[0] ?? '').toLowerCase();
  if (hostsPart.includes('%40'))
    throw encodedAt(`${scheme}://***@${rest.slice(hostsPart.lastIndexOf('%40') + 3)}`);
  const rawUser =
    userinfo === undefined ? undefined : colonAt === -1 ? userinfo : userinfo.slice(0, colonAt);
  if (rawUser !== undefined && /[/\\\s]/.test(rawUser))
    throw new CliError(
      `${scheme}://***@${rest}: the user name holds '/', '\\' or white space: expected etcd://[user[:password]@]host[:port]/key`,
      2,
      'usage',
    );
  if (rawUser !== undefined && /%3a/i.test(rawUser))
    throw new CliError(
      `${scheme}://***@${rest}: the ':' between user and password must be written as it is (a user name cannot hold ':')`,
      2,
      'usage',
    );
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
    if (!hm || (hm[1] !== undefined && Number(hm[1]) > 65535)) {
      // No '@', no valid host, a '%40' later: a userinfo typed encoded (`ops:p/w%40db/k`).
      const encoded = at === -1 ? splitUserinfo(body) : undefined;
      if (encoded !== undefined) throw encodedAt(`${scheme}://***@${encoded.after}`);
      throw new CliError(`${safe}: ${JSON.stringify(h)} is not host[:port]`, 2, 'usage');
    }
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

function encodedAt(shown: string): CliError {
  return new CliError(
    `${shown}: the '@' that ends user:password must be written as it is (percent-encode only an '@' inside the password)`,
    2,
    'usage',
  );
}

/**
 * Where a URL starts inside a command-line argument, in every spelling a hand types: a scheme
 * (`etcd`, `ETCDS`, `http`, `x-y+z`) with `:` (or `%3A`) and any run of `/` and `\` after it, or
 * with no colon but two or more of them (`etcd//…`).
 */
const URL_START = /([A-Za-z][A-Za-z0-9+.-]*)(?::|%3a)[/\\]*|[A-Za-z][A-Za-z0-9+.-]*[/\\]{2,}/gi;
/** The same at the start of a location (white space before it is a typo too). */
const URL_LOCATION = /^\s*([A-Za-z][A-Za-z0-9+.-]*)(:|%3a)?([/\\]*)/i;
/** `user:` (or `user%3A`) after the start, a separator or white space: a userinfo with no scheme. */
const BARE_USERINFO = /(?:^|[\s/\\=])[^\s/\\:@=]*(?::|%3a)/gi;
/** An etcd URL (in any of those spellings) somewhere in an argument. */
const ETCD_ANYWHERE = /etcds?(?::|%3a|[/\\]{2})/i;

/** The userinfo of the text after a URL start: up to the last '@' or, with none, the last '%40'. */
interface Userinfo {
  readonly user: string;
  /** ':' or '%3A' as written; absent without a password. */
  readonly separator?: string | undefined;
  readonly password?: string | undefined;
  /** '@' or '%40' as written. */
  readonly end: string;
  /** The text after the userinfo (host, port, key). */
  readonly after: string;
}

function splitUserinfo(body: string): Userinfo | undefined {
  let at = body.lastIndexOf('@');
  let endLength = 1;
  const lower = body.toLowerCase();
  // With an '@', a '%40' in the host part after it ends the userinfo (`ops:p@w%40db/k`); with
  // none, the last '%40' does (`ops:p/w%40db/k`).
  const encoded =
    at === -1
      ? lower.lastIndexOf('%40')
      : at + 1 + (lower.slice(at + 1).split('/')[0] ?? '').lastIndexOf('%40');
  if (encoded > at) {
    at = encoded;
    endLength = 3;
  }
  if (at === -1) return undefined;
  const raw = body.slice(0, at);
  const end = body.slice(at, at + endLength);
  const after = body.slice(at + endLength);
  const colon = raw.indexOf(':');
  const sep = colon !== -1 ? colon : raw.toLowerCase().indexOf('%3a');
  if (sep === -1) return { user: raw, end, after };
  const sepLength = colon !== -1 ? 1 : 3;
  return {
    user: raw.slice(0, sep),
    separator: raw.slice(sep, sep + sepLength),
    password: raw.slice(sep + sepLength),
    end,
    after,
  };
}

/**
 * Refuses a location that looks like a URL but is not `etcd://` / `etcds://` — `etcd:/h/k`,
 * `ETCD:\\h\k`, `etcds:h/k`, ` etcd://…`, `etcd%3A//…`, or any scheme with a userinfo
 * (`http://ops:pw@h/k`, `etcd//ops:pw@h/k`, `ops:pw@h/k`) — instead of reading it as a file path
 * that every message would then echo, password and all (MISC-03). The message shows the URL with
 * its userinfo as `***@`. A drive letter (`C:\…`, `C:/…`) is a path; a file whose name looks
 * like a URL is read as `./name`.
 */
function notAUrl(text: string): void {
  const m = URL_LOCATION.exec(text);
  if (!m) return;
  const [start, scheme = '', colon, slashes = ''] = m;
  const info = splitUserinfo(text.slice(start.length));
  const etcd = /^etcds?$/i.test(scheme);
  // A password after any scheme-like start (`C:\\ops:pw@…` is no Windows path: a file name there
  // holds no ':'), or a URL with a userinfo, or an etcd scheme misspelt: never a file path.
  const url =
    colon !== undefined
      ? scheme.length > 1 || slashes === ''
        ? etcd || info !== undefined
        : info?.password !== undefined
      : slashes.length >= 2 && info?.password !== undefined;
  if (!url) return;
  const shown = `${start.trimStart()}${info === undefined ? text.slice(start.length) : `***@${info.after}`}`;
  throw new CliError(
    etcd
      ? `${shown}: not an etcd location: expected etcd://[user@]host[:port][,host:port…]/key (etcds:// for TLS); for a file of that name, write ./ before it`
      : `${shown}: not a location: a URL other than etcd://… or etcds://… cannot be read (a file path, - or etcd://…); for a file of that name, write ./ before it`,
    2,
    'usage',
  );
}

/**
 * Registers, before anything is printed, the password of a URL in `text` (if any), in every
 * spelling {@link notAUrl} refuses too (`etcd:/ops:pw@…`, `ETCD:\\ops:pw@…`, `http://ops:pw@…`,
 * `ops:pw@…`, `user%3Apw%40host`), and `GRAYLANE_ETCD_PASSWORD` (when an etcd URL is there to use
 * it), to be scrubbed from diagnostics (see `secrets.ts` for what is scrubbed where). The
 * userinfo runs to the last '@' (a password may hold '/', '@', ':' or spaces unencoded; hosts
 * never hold '@'; a key that does must encode it as %40), so no printed line — an echo of a
 * mistyped command included — can carry it (MISC-03).
 *
 * @example
 * ```ts
 * registerUrlSecrets('etcd://ops:a/b c@db:2379/k'); // 'a/b c' is now scrubbed from every line
 * ```
 */
export function registerUrlSecrets(text: string, env: NodeJS.ProcessEnv = process.env): void {
  if (ETCD_ANYWHERE.test(text) && env['GRAYLANE_ETCD_PASSWORD'])
    addSecret(env['GRAYLANE_ETCD_PASSWORD']);
  // A scheme first (so `etcd:` is not taken for a user name), then a bare `user:`; the first
  // whose user name is a plain word (no space or slash: `Referer: https://…` is no user) counts.
  const bodies = [
    ...[...text.matchAll(URL_START)].map((m) => m.index + m[0].length),
    ...[...text.matchAll(BARE_USERINFO)].map((m) => m.index + (/^[\s/\\=]/.test(m[0]) ? 1 : 0)),
  ];
  for (const from of bodies) {
    const info = splitUserinfo(text.slice(from));
    if (info?.password === undefined || /[\s/\\]/.test(info.user)) continue;
    addUrlUserinfo(info.user, info.separator ?? ':', info.password, info.end);
    addSecret(info.password);
    addSecret(safeDecode(info.password));
    return;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
