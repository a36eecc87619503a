import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { parseIpAddress } from '@graylane/core';

/** The parts of a `net.Socket` / `tls.TLSSocket` read here (all public but `_host`). */
interface SocketLike {
  connecting?: unknown;
  remoteAddress?: unknown;
  remotePort?: unknown;
  /** The name `net` connected to (Node 20–24 sets it in `connect()` for a name, not an IP). */
  _host?: unknown;
  encrypted?: unknown;
  authorized?: unknown;
  getPeerCertificate?: unknown;
}

/**
 * @internal Whether a socket that code other than Node's own connect made (an undici
 * `connect` function, an HTTP/2 `createConnection`) proves it reaches `hostname:port`, the
 * origin the request is judged on (CTX-13, review 128 D2): a connected socket (TCP, or TLS
 * directly over it) whose peer port is `port` — a certificate names hosts, never ports (review
 * 145 D1: another service on the same host, or under the same wildcard certificate, got the
 * marker) — and whose peer is `hostname`:
 * - the same address for an IP literal, or, for a name, the name `net` itself was asked to
 *   connect to (resolving it is DNS's or the caller's `lookup`'s business, as for any connection);
 * - or a TLS socket verified against the trusted CAs (`authorized`) whose certificate Node's
 *   `checkServerIdentity` accepts for `hostname` (the caller connected to an address it resolved).
 * Anything else — still connecting, a local pipe, a proxy's or a tunnel's socket (its peer port
 * is the proxy's), unreadable — proves nothing. Never throws.
 */
export function socketReaches(socket: unknown, hostname: string, port: number): boolean {
  try {
    if (typeof socket !== 'object' || socket === null) return false;
    const s = socket as SocketLike;
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    if (s.connecting !== false || s.remotePort !== port) return false;
    if (certifies(s, host)) return true;
    if (isIP(host) === 0) return s._host === host;
    return typeof s.remoteAddress === 'string' && sameAddress(s.remoteAddress, host);
  } catch {
    return false;
  }
}

/**
 * A verified TLS peer certificate valid for `host`. A resumed TLS session shows no certificate
 * (Node's `getPeerCertificate()` is empty then): it proves nothing here, and the socket is
 * judged by its peer like any other.
 */
function certifies(s: SocketLike, host: string): boolean {
  if (s.encrypted !== true || s.authorized !== true) return false;
  if (typeof s.getPeerCertificate !== 'function') return false;
  const cert = (s.getPeerCertificate as () => PeerCertificate | undefined)();
  if (typeof cert !== 'object' || cert === null || Object.keys(cert).length === 0) return false;
  return checkServerIdentity(host, cert) === undefined;
}

/**
 * Two IP literals for one address, whatever the spelling: IPv6 compressed or not, in any case,
 * with leading zeros, an embedded IPv4 tail, and IPv4 against its IPv4-mapped form (a peer on a
 * dual-stack socket). Compared as 16 bytes (core's address parser); a zone id is not compared.
 */
function sameAddress(peer: string, host: string): boolean {
  const a = parseIpAddress(peer);
  const b = parseIpAddress(host);
  if (a === undefined || b === undefined) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
