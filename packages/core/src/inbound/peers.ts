import { GraylaneError } from '../errors.js';

/** True when a request's peer address is one of the trusted proxies. Never throws. */
export type PeerMatcher = (address: string | undefined) => boolean;

/**
 * The peer address a platform reports for a connection over a Unix domain socket (which has no
 * IP address): `@graylane/node` reports it for a server listening on a socket path; on the Web
 * entry, pass it as `remoteAddress` (Deno: `info.remoteAddr.transport === 'unix'`). Trusted
 * only when `trustedProxies` lists it.
 */
export const UNIX_PEER = 'unix';

/** The parts of a Node `net.Socket` a peer is read from. */
export interface SocketLike {
  readonly remoteAddress?: string | undefined;
  readonly server?: { address?(): unknown } | null | undefined;
}

/**
 * @internal A Node socket's peer IP; {@link UNIX_PEER} when its server listens on a Unix domain
 * socket, whose peers have no address. Decided by the listener (its address is a path), never by
 * an absent address alone: a TCP socket whose peer already went reports none either. Shared by
 * `@graylane/node` and `@graylane/web/hono` on `@hono/node-server`. Never throws.
 */
export function socketPeer(socket: SocketLike | null | undefined): string | undefined {
  const address = socket?.remoteAddress;
  if (typeof address === 'string') return address;
  if (!socket) return undefined;
  try {
    return typeof socket.server?.address?.() === 'string' ? UNIX_PEER : undefined;
  } catch {
    return undefined;
  }
}

/** An address or network as 16 bytes (IPv4 as `::ffff:a.b.c.d`) and a prefix length. */
interface Network {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * Compiles `trustedProxies` (GW-04): exact IPv4 or IPv6 addresses and CIDR networks
 * (`10.0.0.0/8`, `fd00::/8`). IPv4 is matched as IPv4 whether the peer shows up as `10.1.2.3` or,
 * on a dual-stack listener, as `::ffff:10.1.2.3` — and an entry written in either form matches
 * both. Zone ids (`fe80::1%eth0`) are ignored. `'unix'` trusts every peer of a server that
 * listens on a Unix domain socket (the socket file's permissions decide who connects: nginx's
 * `proxy_pass http://unix:/run/app.sock`). Throws `INVALID_OPTIONS` on an entry that is none of
 * these, at construction.
 *
 * @example
 * ```ts
 * const trusted = compileTrustedProxies(['10.0.0.0/8', '::1']);
 * trusted('::ffff:10.20.30.40'); // true
 * ```
 */
export function compileTrustedProxies(entries: readonly string[] | undefined): PeerMatcher {
  if (entries === undefined) return () => false;
  if (!Array.isArray(entries))
    throw new GraylaneError('INVALID_OPTIONS', 'trustedProxies must be an array of addresses');
  let unix = false;
  const networks: Network[] = [];
  for (const entry of entries) {
    if (entry === UNIX_PEER) {
      unix = true;
      continue;
    }
    const net = parseNetwork(entry);
    if (!net) {
      throw new GraylaneError(
        'INVALID_OPTIONS',
        `trustedProxies: ${JSON.stringify(String(entry)).slice(0, 60)} is not an IP address, CIDR network or 'unix'`,
      );
    }
    networks.push(net);
  }
  if (networks.length === 0 && !unix) return () => false;
  return (address) => {
    if (typeof address !== 'string') return false;
    if (address === UNIX_PEER) return unix;
    const bytes = parseAddress(address);
    return bytes !== undefined && networks.some((n) => contains(n, bytes));
  };
}

function parseNetwork(entry: unknown): Network | undefined {
  if (typeof entry !== 'string' || entry.length > 64) return undefined;
  const slash = entry.indexOf('/');
  const addr = slash === -1 ? entry : entry.slice(0, slash);
  const bytes = parseAddress(addr);
  if (!bytes) return undefined;
  if (slash === -1) return { bytes, prefix: 128 };
  const bits = entry.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return undefined;
  const n = Number(bits);
  const v4 = parseV4(addr) !== undefined;
  if (n > (v4 ? 32 : 128)) return undefined;
  // `::ffff:10.0.0.0/8` reads as the IPv4 /8 but is the IPv6 network `::/8`: every IPv4 peer and
  // `::1`. A mapped address takes a prefix of 96 or more (`::ffff:10.0.0.0/104`), or IPv4's form.
  if (!v4 && n < 96 && isMapped(bytes)) return undefined;
  return { bytes, prefix: v4 ? n + 96 : n };
}

/** Whether 16 bytes are an IPv4-mapped address (`::ffff:a.b.c.d`). */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function contains(net: Network, addr: Uint8Array): boolean {
  let bits = net.prefix;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((net.bytes[i] as number) & mask) !== ((addr[i] as number) & mask)) return false;
  }
  return true;
}

/**
 * @internal 16 bytes for an IPv4 (mapped) or IPv6 address in any spelling (zone id ignored);
 * undefined for anything else. `@graylane/node` compares a socket's peer with an origin's IP
 * literal through it.
 */
export function parseAddress(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  const s = zone === -1 ? text : text.slice(0, zone);
  const v4 = parseV4(s);
  if (v4) return mapped(v4);
  return parseV6(s);
}

function mapped(v4: readonly number[]): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  // An embedded IPv4 ends the address: never before a `::` (`1.2.3.4::` is no address).
  const head = groups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] as string, true) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Hex groups of one side of `::`; an embedded IPv4 tail (where `last`: the side ends the address)
 * counts as two groups.
 */
function groups(side: string, last: boolean): number[] | undefined {
  if (side === '') return [];
  const parts = side.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (last && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (!v4) return undefined;
      out.push(
        ((v4[0] as number) << 8) | (v4[1] as number),
        ((v4[2] as number) << 8) | (v4[3] as number),
      );
      continue;
    }
    if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return undefined;
    out.push(parseInt(p, 16));
  }
  return out;
}
