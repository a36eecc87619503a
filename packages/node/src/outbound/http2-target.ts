import type { HeaderOps } from './hop-headers.js';

/** Characters an authority (`host[:port]`) never holds: userinfo, path, query, fragment, space. */
const NOT_AUTHORITY = /[@/?#\\\s]/;

/** The own symbols Node keeps a client session's origin under (`http2.connect`, Node 20–24). */
const SESSION_KEYS = ['authority', 'protocol'] as const;

const sessionKeys = new WeakMap<object, readonly [symbol, symbol] | null>();

/**
 * @internal Every origin one HTTP/2 request reaches or names, all of which must be allowlisted
 * (I8): the session's own (`http2.connect`'s authority — or its `servername` — and scheme: the
 * host the connection was opened to, and the `:authority` Node sends when the caller sets none),
 * and each origin the request's headers name in its place (`:authority` and `host`, any case,
 * with `:scheme` or the session's): a server, or a proxy in front of it, routes on what is sent,
 * and a name sent to another host's connection can vouch for neither. A `CONNECT` (no
 * `:protocol`) is a tunnel to the authority it names: no target. Undefined (refused) when
 * anything cannot be read. Never throws.
 */
export function http2Target(session: unknown, ops: HeaderOps): readonly string[] | undefined {
  try {
    const own = sessionOrigin(session);
    if (own === undefined || overPipe(session)) return undefined;
    if (ops.values(':method').includes('CONNECT') && ops.values(':protocol').length === 0)
      return undefined;
    const scheme = own.protocol.slice(0, -1);
    const sentSchemes = ops.values(':scheme');
    const sentAuthorities = [...ops.values(':authority'), ...ops.values('host')];
    const out = new Set([own.origin]);
    for (const s of sentSchemes.length > 0 ? sentSchemes : [scheme])
      for (const a of sentAuthorities.length > 0 ? sentAuthorities : [own.authority]) {
        const origin = authorityOrigin(s, a);
        if (origin === undefined) return undefined;
        out.add(origin);
      }
    return [...out];
  } catch {
    return undefined;
  }
}

/**
 * True when the session's connection is a local pipe (a Unix socket), whatever authority it was
 * given: grpc-js opens `unix:` targets as `localhost`, and a pipe is no host an allowlist names
 * (as `socketPath` for `http`, review 125 D2). Read from the socket: a `Pipe` handle (known
 * while it connects), or a connected socket with no peer address. Unreadable: not a pipe.
 */
function overPipe(session: unknown): boolean {
  try {
    const socket = (session as { socket?: unknown }).socket as
      | {
          connecting?: unknown;
          remoteAddress?: unknown;
          _handle?: { constructor?: { name?: unknown } } | null;
        }
      | undefined;
    if (typeof socket !== 'object' || socket === null) return false;
    if (socket._handle?.constructor?.name === 'Pipe') return true;
    return (
      socket.connecting === false && socket.remoteAddress === undefined && 'remoteAddress' in socket
    );
  } catch {
    return false;
  }
}

/**
 * @internal `scheme://authority` as a URL origin, or undefined. Node writes an IPv6 session
 * authority without brackets (`::1:8080`): the last `:` then starts the port.
 */
export function authorityOrigin(scheme: string, authority: string): string | undefined {
  const a = authority.trim();
  if (a === '' || NOT_AUTHORITY.test(a) || !/^[a-z][a-z0-9+.-]*$/i.test(scheme)) return undefined;
  const colons = a.split(':').length - 1;
  const bracketed =
    colons > 1 && !a.startsWith('[')
      ? `[${a.slice(0, a.lastIndexOf(':'))}]${a.slice(a.lastIndexOf(':'))}`
      : a;
  try {
    const origin = new URL(`${scheme}://${bracketed}`).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** The origin `http2.connect` gave `session` (Node's own `kAuthority`/`kProtocol`). */
export function sessionOrigin(
  session: unknown,
): { readonly origin: string; readonly protocol: string; readonly authority: string } | undefined {
  if (typeof session !== 'object' || session === null) return undefined;
  const proto = Object.getPrototypeOf(session) as object | null;
  if (proto === null) return undefined;
  let keys = sessionKeys.get(proto);
  if (keys === undefined) {
    const symbols = Object.getOwnPropertySymbols(session);
    const [authority, protocol] = SESSION_KEYS.map((d) => symbols.find((s) => s.description === d));
    keys = authority && protocol ? [authority, protocol] : null;
    // Learned from a session connect() set up; one made otherwise proves nothing about the rest.
    if (keys !== null) sessionKeys.set(proto, keys);
  }
  if (keys === null) return undefined;
  const record = session as Record<symbol, unknown>;
  const authority = record[keys[0]];
  const protocol = record[keys[1]];
  if (typeof authority !== 'string' || typeof protocol !== 'string' || !protocol.endsWith(':'))
    return undefined;
  const origin = authorityOrigin(protocol.slice(0, -1), authority);
  return origin === undefined ? undefined : { origin, protocol, authority };
}
