import { socketReaches } from './connection-proof.js';
import { mergedConnection } from './http-target.js';
import type { HeaderOps } from './hop-headers.js';
import { http2State } from './state.js';

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
 * `:protocol`) is a tunnel to the authority it names: no target. The connection counts too
 * (CTX-13, review 128 D2), as `installGlobal`'s `http2.connect` saw it made (see
 * {@link noteConnection}): the host Node connected to, when the options moved it off the
 * authority, must be allowed as well; a connection other code made (`createConnection`, a
 * `socket`, a `path`) may go anywhere, so it has no target unless its socket, when the request
 * is made, proves it reaches the authority (connection-proof.ts: a verified TLS certificate for
 * its host, as http2-wrapper's sessions have, or that very peer; a socket still connecting
 * proves nothing) — or the request is grpc-js's (`grpc`: grpc-js connects its sessions itself,
 * to an address it resolved for the channel target the authority names, as a `lookup` would).
 * A session graylane did not see made (opened before `installGlobal`, or through a `connect`
 * taken from `node:http2` before it: its options are gone) is judged by its socket the same
 * way once it is connected; while it still connects nothing can be read of where it goes (a
 * `net` socket keeps no host or port until then), and it is judged on its authority alone.
 * Undefined (refused) when anything cannot be read. Never throws.
 */
export function http2Target(
  session: unknown,
  ops: HeaderOps,
  grpc = false,
): readonly string[] | undefined {
  try {
    const own = sessionOrigin(session);
    if (own === undefined || overPipe(session)) return undefined;
    const made = connectionOf(session);
    const checked = made === null || (made === undefined && connected(session));
    if (checked && !grpc && !reaches(session, own.origin)) return undefined;
    if (ops.values(':method').includes('CONNECT') && ops.values(':protocol').length === 0)
      return undefined;
    const scheme = own.protocol.slice(0, -1);
    const sentSchemes = ops.values(':scheme');
    const sentAuthorities = [...ops.values(':authority'), ...ops.values('host')];
    const out = new Set(typeof made === 'string' ? [own.origin, made] : [own.origin]);
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

type Options = Record<string, unknown>;

/**
 * @internal Records how `http2.connect(authority, options)` connected `session` (called by
 * `installGlobal`'s wrapper with the same arguments). Node 20–24 (lib/internal/http2/core.js)
 * calls `options.createConnection(authority, options)` when it is a function and uses whatever
 * it returns; otherwise it connects to the authority's host and port (80/443 by its scheme)
 * with the options spread over them — `net.connect({ port, host, ...options })` for `http:`,
 * `tls.connect(port, host, options)` for `https:`, where the options' `host`/`port` win too — so
 * their `host`, `port` and `path` (a local socket), and for TLS a `socket` to run over, move the
 * connection. Recorded: the origin Node connects to, or null when other code connects (or
 * when it cannot be read: refused). Never throws.
 */
export function noteConnection(session: unknown, args: readonly unknown[]): void {
  try {
    if (typeof session !== 'object' || session === null) return;
    let made: string | null;
    try {
      made = connectedOrigin(args[0], args[1]);
    } catch {
      made = null;
    }
    sessionConnections().set(session, made);
  } catch {
    // I1: the session is judged on its authority alone.
  }
}

/**
 * @internal The origin `http2.connect(authority, options)` connects to (Node 20–24): none (null)
 * when the options' `createConnection`, a TLS `socket` or a local `path` connect instead; else
 * the authority's host and port, the options' `host`/`port` winning. axios' HTTP/2 transport is
 * judged with it too (axios-connection.ts).
 */
export function connectedOrigin(authority: unknown, options: unknown): string | null {
  const o = typeof options === 'object' && options !== null ? (options as Options) : {};
  if (typeof o.createConnection === 'function') return null;
  const url = (typeof authority === 'string' ? new URL(authority) : authority) as Options;
  const protocol = str(url.protocol) || str(o.protocol) || 'https:';
  if (protocol === 'https:' && o.socket !== undefined && o.socket !== null) return null;
  if (typeof o.path === 'string' && o.path !== '') return null;
  const hostname = str(url.hostname) ?? '';
  const host =
    hostname !== '' ? hostname.replace(/^\[(.*)\]$/, '$1') : str(url.host) || 'localhost';
  const port: unknown = url.port !== '' ? url.port : url.protocol === 'http:' ? 80 : 443;
  const to = mergedConnection(host, port, o);
  if (to === undefined) return null;
  const bracketed = to.host.includes(':') ? `[${to.host}]` : to.host;
  const origin = new URL(`${protocol}//${bracketed}:${String(to.port)}`).origin;
  return origin === 'null' ? null : origin;
}

/** What `noteConnection` recorded for `session`: undefined when it saw no such session. */
function connectionOf(session: unknown): string | null | undefined {
  return typeof session === 'object' && session !== null
    ? sessionConnections().get(session)
    : undefined;
}

function sessionConnections(): WeakMap<object, string | null> {
  // A state created by another copy of graylane may predate the field.
  const h2 = http2State() as { sessions?: WeakMap<object, string | null> };
  return (h2.sessions ??= new WeakMap());
}

/** Whether the session's socket proves it reaches `origin` (see connection-proof.ts). */
function reaches(session: unknown, origin: string): boolean {
  try {
    const url = new URL(origin);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return socketReaches((session as { socket?: unknown }).socket, url.hostname, port);
  } catch {
    return false;
  }
}

/** Whether the session's socket is connected (its peer can be read: see connection-proof.ts). */
function connected(session: unknown): boolean {
  try {
    const socket = (session as { socket?: { connecting?: unknown } }).socket;
    return typeof socket === 'object' && socket !== null && socket.connecting === false;
  } catch {
    return false;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
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
