import { CliError } from './io.js';
import { addSecret, addUserinfo } from './secrets.js';
import { printable, quoted } from './text.js';
import { findUserinfo, fold, userinfoEnd } from './url-like.js';

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
  /** The key, percent-decoded: what is read and written. */
  readonly key: string;
  /** The key as written in the URL (percent-escapes kept): how every message names it. */
  readonly rawKey: string;
  readonly tls: boolean;
  readonly username?: string | undefined;
  /** Never printed: registered as a secret and scrubbed from every diagnostic (MISC-03). */
  readonly password?: string | undefined;
  /** The password came from the URL (visible in `ps` and shell history: worth a warning). */
  readonly passwordInUrl: boolean;
  /**
   * The location for messages: a userinfo in the URL is shown as `***@` (the user name too: a
   * password typed into it cannot be told apart), a user from `GRAYLANE_ETCD_USER` not at all;
   * the key as written. Raw text: a message escapes it (`printable`) where it interpolates it.
   */
  readonly display: string;
  /** Who the user is, as a message may say it: `the user in the URL`, `user ops (GRAYLANE_ETCD_USER)`. */
  readonly userShown?: string | undefined;
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;
const DEFAULT_ETCD_PORT = 2379;
const USAGE = 'expected etcd://[user@]host[:port][,host:port…]/key (etcds:// for TLS)';
/** What a user name cannot hold, read on its folded form: a password separator typed wrong. */
const NOT_IN_USER = /[:;,@/\\\s\p{Cc}]/u;
/** The same once percent-decoded, but for '@' and '/': an encoded one is the user's own. */
const NOT_IN_DECODED_USER = /[:;,\\\s\p{Cc}]/u;

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
  return parseEtcd(text, scheme, env);
}

function parseEtcd(text: string, scheme: string, env: NodeJS.ProcessEnv): EtcdLocation {
  const body = text.slice(scheme.length + 3);
  const folded = fold(body);
  const at = folded.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : body.slice(0, at);
  const rest = body.slice(at + 1);
  // A '%40' where the hosts are (`ops:pw%40db/k`, `ops:p@w%40db/k`): a userinfo typed encoded.
  const end = userinfoEnd(text);
  const validHosts = (): boolean =>
    hostsOf(rest)
      .split(',')
      .every((h) => HOST.test(h));
  if (end && end.length === 3 && (at !== -1 || !validHosts()))
    throw encodedAt(`${scheme}://***@${text.slice(end.at + 3)}`);
  // `＠` or `﹫` where the '@' is: no etcd client would read it; shown as what it ends.
  if (at !== -1 && body[at] !== '@')
    throw usage(
      `${printable(`${scheme}://***@${rest}`)}: the '@' that ends the userinfo is ${describe(body[at] as string)}: write it as '@'`,
    );
  const colonAt = userinfo?.indexOf(':') ?? -1;
  if (userinfo !== undefined) checkUser(userinfo, colonAt, `${scheme}://***@${rest}`);
  const slash = rest.indexOf('/');
  const hostList = slash === -1 ? rest : rest.slice(0, slash);
  const rawKey = slash === -1 ? '' : rest.slice(slash + 1);
  const safe = `${scheme}://${userinfo === undefined ? '' : '***@'}${rest}`;
  if (hostList === '' || rawKey === '') throw usage(`${printable(safe)}: ${USAGE}`);
  const tls = scheme.toLowerCase() === 'etcds';
  const hosts = hostList.split(',').map((h) => {
    const hm = HOST.exec(h);
    if (!hm || (hm[1] !== undefined && Number(hm[1]) > 65535))
      throw usage(`${printable(safe)}: ${quoted(h)} is not host[:port]`);
    return `${tls ? 'https' : 'http'}://${hm[1] === undefined ? `${h}:${DEFAULT_ETCD_PORT}` : h}`;
  });
  const key = safeDecode(rawKey);
  let username: string | undefined;
  let password: string | undefined;
  let userShown: string | undefined;
  if (userinfo !== undefined) {
    username = safeDecode(colonAt === -1 ? userinfo : userinfo.slice(0, colonAt));
    if (colonAt !== -1) password = safeDecode(userinfo.slice(colonAt + 1));
    userShown = 'the user in the URL';
  } else if (env['GRAYLANE_ETCD_USER']) {
    username = env['GRAYLANE_ETCD_USER'];
    userShown = `user ${username} (GRAYLANE_ETCD_USER)`;
  }
  if (username !== undefined && password === undefined) password = env['GRAYLANE_ETCD_PASSWORD'];
  if (password !== undefined) addSecret(password);
  const display = `${scheme}://${userinfo === undefined ? '' : '***@'}${hostList}/${rawKey}`;
  if (username !== undefined && !password)
    throw usage(
      `${printable(display)}: ${printable(userShown ?? '')} has no password: set GRAYLANE_ETCD_PASSWORD`,
    );
  if (username === '') throw usage(`${printable(display)}: empty user name`);
  const passwordInUrl = colonAt !== -1;
  return {
    kind: 'etcd',
    hosts,
    key,
    rawKey,
    tls,
    username,
    password,
    passwordInUrl,
    display,
    userShown,
  };
}

const hostsOf = (rest: string): string => rest.split('/')[0] ?? '';

/**
 * Refuses a user name that holds what separates user from password in some spelling — `;` or `,`
 * typed for `:`, a fullwidth or look-alike `：`, `%3A`/`%3B` — or `/`, `\`, `@`, white space: a
 * mistyped `user:password` that would otherwise be sent, and shown, as a user name (MISC-03).
 */
function checkUser(userinfo: string, colonAt: number, location: string): void {
  const shown = printable(location);
  const raw = colonAt === -1 ? userinfo : userinfo.slice(0, colonAt);
  if (/%3a/i.test(raw))
    throw usage(
      `${shown}: the ':' between user and password must be written as it is (a user name cannot hold ':')`,
    );
  // As typed, then decoded: `%3B` is a ';' too (an encoded '@' or '/' is the user's own).
  const decoded = safeDecode(raw);
  const typed = NOT_IN_USER.exec(fold(raw));
  const encoded = typed ? null : NOT_IN_DECODED_USER.exec(fold(decoded));
  const bad = typed ? raw[typed.index] : encoded ? decoded[encoded.index] : undefined;
  if (bad === undefined) return;
  throw usage(
    `${shown}: the user name holds ${describe(bad)}${typed ? '' : ' (percent-encoded)'}: ${USAGE} — a user name cannot hold ':', ';', ',', '@', '/', '\\' or white space`,
  );
}

/**
 * `';'`, or `'：' (U+FF1A)` for a character that is not printable ASCII; a control, separator or
 * bidi character only as its code point.
 */
function describe(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  if (code > 0x20 && code < 0x7f) return `'${char}'`;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code > 0xa0 && !/\s/.test(char) && printable(char) === char ? `'${char}' (${hex})` : hex;
}

function usage(message: string): CliError {
  return new CliError(message, 2, 'usage');
}

function encodedAt(shown: string): CliError {
  return usage(
    `${printable(shown)}: the '@' that ends user:password must be written as it is (percent-encode only an '@' inside the password)`,
  );
}

/** `./name`, `../name`, `.\name`, `/path` (one slash): a file, whatever the name looks like. */
const EXPLICIT_PATH = /^(?:\.{1,2}[/\\]|\/(?![/\\]))/;
/** A URL's scheme at the start of a location, in folded text (white space before it a typo too). */
const URL_LOCATION = /^\s*([A-Za-z][A-Za-z0-9+.-]*)([:;]|%3a)?((?:[/\\]|%2f|%5c)*)/i;

/**
 * Refuses a location that looks like a URL but is not `etcd://` / `etcds://` — `etcd:/h/k`,
 * `ETCD:\\h\k`, `etcds:h/k`, ` etcd://…`, `etcd%3A//…`, `etcd：//…` (fullwidth), any scheme with a
 * userinfo (`http://ops:pw@h/k`, `etcd//ops:pw@h/k`, `etcd/ops@h/k`), or a `:`-like before an `@`
 * anywhere (`ops:pw@h/k`, `ops;pw@h/k`, `dir/ops：pw@h/k`) — instead of reading it as a file path
 * that every message (and `push`'s stdout) would then echo, password and all, and that `push`
 * could create (MISC-03). The message shows the userinfo as `***@`. A drive letter (`C:\…`) is a
 * path; a file whose name looks like a URL is read as `./name` or by its absolute path.
 */
function notAUrl(text: string): void {
  if (EXPLICIT_PATH.test(text)) return;
  const folded = fold(text);
  const m = URL_LOCATION.exec(folded);
  const info = findUserinfo(text);
  const [start = '', scheme = '', colon, slashes = ''] = m ?? [];
  const etcd = /^etcds?$/i.test(scheme) && (colon !== undefined || slashes !== '');
  // A misspelt etcd scheme or any scheme with a userinfo (not a drive letter's `C:\`), as before;
  // now also any URL-like userinfo wherever it is.
  const drive = scheme.length === 1 && colon === ':' && slashes !== '';
  const url =
    (colon !== undefined && !drive && (etcd || info !== undefined)) ||
    (etcd && info !== undefined) ||
    info?.urlLike === true;
  if (!url) return;
  const atStart = info?.scheme === true && info.start === start.length - start.trimStart().length;
  const before = atStart ? text.slice(info.start, info.from).trimEnd() : '';
  const shown =
    info === undefined ? text.trimStart() : `${before}***@${text.slice(info.at + info.endLength)}`;
  const ascii = folded.slice(0, start.length) === text.slice(0, start.length);
  const lookAlike = ascii ? '' : ' (its letters, ":" or "/" are look-alikes, not ASCII)';
  throw usage(
    etcd
      ? `${printable(shown)}: not an etcd location${lookAlike}: ${USAGE}; for a file of that name, write ./ before it or give its absolute path`
      : `${printable(shown)}: not a location: ${info?.urlLike ? "a URL's user:password@ (a ':' or look-alike before an '@') " : 'a URL other than etcd://… or etcds://… '}cannot be read (a location is a file path, - or etcd://…); for a file of that name, write ./ before it or give its absolute path`,
  );
}

/**
 * Registers, before anything is printed, the whole userinfo of a URL in `text` (if any) and the
 * password in it, in every spelling {@link notAUrl} refuses too (`etcd:/ops:pw@…`,
 * `etcd/ops;pw@…`, `ETCD:\\ops:pw@…`, `http://ops:pw@…`, `ops:pw@…`, `user%3Apw%40host`, with
 * fullwidth or look-alike separators), and `GRAYLANE_ETCD_PASSWORD` (when an etcd URL is there to
 * use it), to be scrubbed from diagnostics (see `secrets.ts` for what is scrubbed where). The
 * userinfo runs to the last '@' (a password may hold '/', '@', ':' or spaces unencoded; hosts
 * never hold '@'; a key that does must encode it as %40), so no printed line — an echo of a
 * mistyped command included — can carry it (MISC-03).
 *
 * @example
 * ```ts
 * registerUrlSecrets('etcd://ops:a/b c@db:2379/k'); // 'ops:a/b c' is now scrubbed from every line
 * ```
 */
export function registerUrlSecrets(text: string, env: NodeJS.ProcessEnv = process.env): void {
  if (/etcds?(?:[:;]|%3a|[/\\])/i.test(fold(text)) && env['GRAYLANE_ETCD_PASSWORD'])
    addSecret(env['GRAYLANE_ETCD_PASSWORD']);
  const info = findUserinfo(text);
  if (!info?.urlLike) return;
  const end = text.slice(info.at, info.at + info.endLength);
  // All before the '@' too (after an `--option=`): where the URL began may be misread (a
  // password holding `x://`), and a wider scrub only hides more. Registered first, so that the
  // URL's own entry (`etcd://***@`) wins where both are the same text.
  const whole = text.slice(text.lastIndexOf('=', info.at - 1) + 1, info.at).trimStart();
  const userinfo = text.slice(info.from, info.at);
  if (whole !== '') addUserinfo('', whole, end);
  if (userinfo !== '' && info.scheme) addUserinfo(text.slice(info.start, info.from), userinfo, end);
  const password = info.separator
    ? text.slice(info.separator.index + info.separator.length, info.at)
    : undefined;
  for (const secret of [whole, userinfo, password]) {
    if (!secret) continue;
    addSecret(secret);
    addSecret(safeDecode(secret));
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * How a location may be named in generated output (the header comment of `render`): its display
 * form with no userinfo at all. Call it only on a location that parsed.
 */
export function locationName(text: string): string {
  const location = parseLocation(text);
  return location.kind === 'etcd' ? location.display.replace('://***@', '://') : location.display;
}
