import { GraylaneError } from '../errors.js';
import { parseHost } from '../inbound/host.js';

/**
 * One allowlist entry:
 * - an exact origin, `"https://api.example.com"` (scheme, host and port must all match);
 * - an exact host, `"orders.internal"` (any port, http or https) or `"orders.internal:8080"`;
 * - a RegExp that starts with `^` and ends with `$` or `\/`, tested against the URL's origin
 *   (`https://x.example.com`) and the origin followed by `/` — never against the path, query,
 *   fragment or userinfo, so `/^https:\/\/svc-\d+\.example\.com\//` cannot be fooled by
 *   `https://evil.com/https://svc-1.example.com/`.
 */
export type AllowEntry = string | RegExp;

/** Where markers may be sent. */
export interface PropagationPolicy {
  /** The page's own origin (browser); same-origin requests are always allowed. */
  readonly origin?: string | undefined;
  readonly allow?: readonly AllowEntry[] | undefined;
}

/** A compiled allowlist. */
export interface Allowlist {
  /** True when a marker may be sent to `url`. Never throws; unparsable URLs are refused. */
  allows(url: string | { readonly href: string }): boolean;
}

interface UrlLike {
  readonly protocol: string;
  readonly origin: string;
  readonly host: string;
  readonly hostname: string;
  readonly port: string;
}
type UrlCtor = new (url: string, base?: string) => UrlLike;

/** A host entry: a name or a bracketed IPv6 address, then an optional port. */
const HOST_ENTRY = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/;
/**
 * An origin entry as written: scheme, authority (no userinfo), at most a trailing `/`; no space,
 * control character or `\` the URL parser would trim or read as a slash (the browser SDK refuses
 * them too).
 */
const BARE_ORIGIN = /^[a-z][a-z\d+.-]*:\/\/[^/?#@\\\s\p{Cc}]*\/?$/iu;
const HTTP_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:']);

/**
 * Compiles an allowlist. Entries are validated here, once: an unanchored regex or a string that is
 * neither an origin nor a host throws `INVALID_OPTIONS` (I8; Sentry #6077 matched substrings).
 *
 * @example
 * ```ts
 * const allow = createAllowlist({ origin: 'https://shop.example', allow: ['https://api.example', /^https:\/\/[a-z]+\.svc\.example$/] });
 * allow.allows('https://api.example/v1/cart'); // true
 * allow.allows('https://api.example.evil.com/'); // false
 * ```
 */
export function createAllowlist(policy: PropagationPolicy = {}): Allowlist {
  policy ??= {}; // `null` from plain JS counts as none
  const origins = new Set<string>();
  const hosts = new Set<string>();
  const hostnames = new Set<string>();
  const patterns: RegExp[] = [];
  const own = policy.origin === undefined ? undefined : normalizeOrigin(policy.origin, 'origin');
  for (const entry of entriesOf(policy.allow)) {
    if (entry instanceof RegExp) patterns.push(anchored(entry));
    else if (typeof entry === 'string' && entry.includes('://'))
      origins.add(normalizeOrigin(entry, 'allow'));
    else {
      const host = typeof entry === 'string' ? hostEntry(entry) : undefined;
      if (host === undefined)
        throw badOption(
          `allow entry ${String(entry)} is not an origin, a host or an anchored RegExp`,
        );
      (hasPort(host) ? hosts : hostnames).add(host);
    }
  }
  return {
    allows(url) {
      const u = parse(typeof url === 'string' ? url : url?.href, own);
      if (!u || !HTTP_SCHEMES.has(u.protocol)) return false;
      if (
        u.origin === own ||
        origins.has(u.origin) ||
        hosts.has(u.host) ||
        // `host:443` names https://host too: a URL leaves its scheme's default port out.
        (u.port == '' && hosts.has(`${u.host}:${u.protocol == 'https:' ? 443 : 80}`)) ||
        hostnames.has(u.hostname)
      )
        return true;
      const origin = u.origin;
      return patterns.some((re) => re.test(origin) || re.test(`${origin}/`));
    },
  };
}

/**
 * One-shot form of {@link createAllowlist}. Prefer the compiled form on hot paths.
 *
 * @example
 * ```ts
 * shouldPropagate('/api/cart', { origin: location.origin }); // true: same origin
 * ```
 */
export function shouldPropagate(
  url: string | { readonly href: string },
  policy: PropagationPolicy = {},
): boolean {
  try {
    return createAllowlist(policy).allows(url);
  } catch {
    return false;
  }
}

/**
 * The entries of an `allow` list (`allowHosts` in Node and the Web engine): an array or another
 * iterable object (a `Set`). A string is refused, not read as one-letter hosts (`'internal'`
 * would allow `http://i/`, `http://n/`, …), and so is anything else that is not a list:
 * `INVALID_OPTIONS` naming the option, never a raw `TypeError`. Null counts as none.
 */
function entriesOf(allow: unknown): Iterable<unknown> {
  if (allow == null) return [];
  if (typeof allow === 'object' && !(allow instanceof String) && Symbol.iterator in allow)
    return allow as Iterable<unknown>;
  throw badOption(`allowHosts must be an array of origins, hosts or RegExps, got ${typeof allow}`);
}

function urlCtor(): UrlCtor | undefined {
  // Looked up at call time: core is runtime-neutral and does not assume a DOM or Node global.
  return (globalThis as { URL?: UrlCtor }).URL;
}

function parse(url: unknown, base: string | undefined): UrlLike | undefined {
  const URLImpl = urlCtor();
  if (!URLImpl || typeof url !== 'string') return undefined;
  try {
    return base === undefined ? new URLImpl(url) : new URLImpl(url, base);
  } catch {
    return undefined;
  }
}

/**
 * An origin entry in the URL parser's form (`https://Bücher.example:0443/` is
 * `https://xn--bcher-kva.example`, `http://[0::1]:8080` is `http://[::1]:8080`, `http://127.1`
 * is `http://127.0.0.1`), so it compares with the origin of the URLs it is asked about.
 */
function normalizeOrigin(text: string, what: string): string {
  const u = parse(text, undefined) as (UrlLike & { pathname: string }) | undefined;
  if (!u || !HTTP_SCHEMES.has(u.protocol) || u.origin === 'null')
    throw badOption(`${what} "${text}" is not an http(s) origin`);
  if (!BARE_ORIGIN.test(text) || u.pathname !== '/') {
    throw badOption(
      `${what} "${text}" must be a bare origin like "https://api.example.com" (no path)`,
    );
  }
  notAWildcard(u.hostname, text, what);
  return u.origin;
}

/**
 * A host entry (`orders.internal`, `orders.internal:8080`, `[::1]:8080`) in the form a URL's
 * `hostname` / `host` has — punycode, IPv4 in dotted decimal, IPv6 compressed, lower case, the
 * port without leading zeros — so `Bücher.example`, `127.1:8080` or `[::ffff:127.0.0.1]:8080`
 * match the URLs they name instead of none. Undefined when it is no host.
 */
function hostEntry(entry: string): string | undefined {
  const m = HOST_ENTRY.exec(entry);
  const name = m ? parseHost(m[1] as string) : undefined;
  if (m === null || name === undefined) return undefined;
  notAWildcard(name, entry, 'allow entry');
  if (m[2] === undefined) return name;
  const port = Number(m[2]);
  return port > 65535 ? undefined : `${name}:${port}`;
}

/**
 * Entries are exact: `*.internal` (or `%2A.internal`) would name the literal host `*.internal`
 * and `.internal` (a `NO_PROXY` habit) the host `.internal` — neither is ever a request's host, so
 * such an entry silently sent markers nowhere. Refused, pointing at the RegExp form.
 */
function notAWildcard(hostname: string, entry: string, what: string): void {
  if (hostname.includes('*') || hostname.startsWith('.'))
    throw badOption(
      `${what === 'allow' ? 'allow entry' : what} "${entry}" is not a wildcard: it names one host; for many use an anchored RegExp such as /^https?:\\/\\/[a-z\\d-]+\\.internal(:\\d+)?$/`,
    );
}

function anchored(re: RegExp): RegExp {
  const src = re.source;
  const endsAnchored =
    (src.endsWith('$') && !src.endsWith('\\$')) || src.endsWith('\\/') || src.endsWith('/');
  if (!src.startsWith('^') || !endsAnchored) {
    throw badOption(
      `allow pattern ${String(re)} must start with ^ and end with $ or \\/ (anchored to the origin)`,
    );
  }
  // Re-anchor as a whole so `^a|b$` cannot match a substring; drop stateful flags (g, y).
  return new RegExp(`^(?:${src})$`, re.flags.replace(/[gy]/g, ''));
}

function hasPort(host: string): boolean {
  return /:\d{1,5}$/.test(host) && !host.endsWith(']');
}

function badOption(message: string): GraylaneError {
  return new GraylaneError('INVALID_OPTIONS', message);
}
