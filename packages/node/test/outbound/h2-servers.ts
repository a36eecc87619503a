import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { selfSignedCert } from './servers.js';

/** One HTTP/2 request as a loopback server received it (raw lines: two stay two). */
export interface H2Hop {
  readonly server: string;
  readonly path: string;
  readonly authority: string;
  readonly grayIds: string[];
  readonly baggage: string[];
  /** Every header name received (lower case, as HTTP/2 sends them). */
  readonly names: string[];
  /** Header names the client sent never-indexed (`http2.sensitiveHeaders`). */
  readonly sensitive: string[];
}

/**
 * The HTTP/2 loopback topology:
 * - `a`   http://127.0.0.1:PA (h2c), the allowlisted service (`127.0.0.1:PA`);
 * - `b`   http://127.0.0.1:PB (h2c), another port;
 * - `v6`  http://[::1]:PV (h2c);
 * - `tls` https://127.0.0.1:PT (h2 over TLS, self-signed: trust `ca`).
 * Every server records each request under its `:path`.
 */
export interface H2Topology {
  readonly origins: {
    readonly a: string;
    readonly b: string;
    readonly v6: string;
    readonly tls: string;
  };
  readonly ports: {
    readonly a: number;
    readonly b: number;
    readonly v6: number;
    readonly tls: number;
  };
  readonly ca: string;
  hops(path: string): H2Hop[];
  close(): Promise<void>;
}

export async function startH2Topology(): Promise<H2Topology> {
  const seen: H2Hop[] = [];
  const { key, cert } = selfSignedCert();
  const servers: (http2.Http2Server | http2.Http2SecureServer)[] = [];
  const record =
    (server: string) =>
    (
      stream: http2.ServerHttp2Stream,
      headers: http2.IncomingHttpHeaders,
      _flags: number,
      raw: string[],
    ) => {
      const lines = (name: string) =>
        raw.flatMap((n, i) => (i % 2 === 0 && n.toLowerCase() === name ? [raw[i + 1]!] : []));
      seen.push({
        server,
        path: String(headers[':path']),
        authority: String(headers[':authority']),
        grayIds: lines('x-gray-id'),
        baggage: lines('baggage'),
        names: raw.filter((_, i) => i % 2 === 0),
        sensitive: [
          ...(((headers as Record<symbol, unknown>)[http2.sensitiveHeaders] as
            string[] | undefined) ?? []),
        ],
      });
      stream.respond({ ':status': 200 });
      stream.end('ok');
    };
  const start = async (
    s: http2.Http2Server | http2.Http2SecureServer,
    name: string,
    host: string,
  ): Promise<number> => {
    s.on('stream', record(name));
    await new Promise<void>((resolve) => s.listen(0, host, resolve));
    servers.push(s);
    return (s.address() as AddressInfo).port;
  };
  const pa = await start(http2.createServer(), 'a', '127.0.0.1');
  const pb = await start(http2.createServer(), 'b', '127.0.0.1');
  const pv = await start(http2.createServer(), 'v6', '::1');
  const pt = await start(http2.createSecureServer({ key, cert }), 'tls', '127.0.0.1');
  return {
    origins: {
      a: `http://127.0.0.1:${pa}`,
      b: `http://127.0.0.1:${pb}`,
      v6: `http://[::1]:${pv}`,
      tls: `https://127.0.0.1:${pt}`,
    },
    ports: { a: pa, b: pb, v6: pv, tls: pt },
    ca: cert,
    hops: (path) => seen.filter((h) => h.path === path),
    close: () =>
      Promise.all(
        servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ).then(() => undefined),
  };
}

/** Sends one request on `session` and resolves when its response has ended. */
export function send(
  session: http2.ClientHttp2Session,
  headers?: http2.OutgoingHttpHeaders | readonly string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req =
      headers === undefined
        ? session.request()
        : session.request(headers as http2.OutgoingHttpHeaders);
    req.on('error', reject);
    req.on('response', () => undefined);
    req.resume();
    req.on('end', resolve);
    req.end();
  });
}

/** The `gray…` members of every baggage line, trimmed. */
export function grays(hop: H2Hop): string[] {
  return hop.baggage
    .flatMap((v) => v.split(','))
    .map((m) => m.trim())
    .filter((m) => m.startsWith('gray'));
}

/** Every member of every baggage line, trimmed. */
export function members(hop: H2Hop): string[] {
  return hop.baggage
    .flatMap((v) => v.split(','))
    .map((m) => m.trim())
    .filter((m) => m !== '');
}

/**
 * What the HTTP/2 connection rows send (graylane's marker; the caller's marker and member) and
 * what arrives on a proven connection, in a lane (`beta`) and with none.
 */
export const H2_CONTENTS = [
  {
    name: 'graylane’s marker',
    headers: { baggage: 'a=1' },
    lane: { ids: ['beta'], grays: ['gray=beta'] },
    none: { ids: [] as string[], grays: [] as string[] },
  },
  {
    name: 'the caller’s marker and member',
    headers: { 'x-gray-id': 'stable', baggage: 'a=1,gray=stable' },
    lane: { ids: ['stable'], grays: ['gray=stable'] },
    none: { ids: ['stable'], grays: ['gray=stable'] },
  },
];

/**
 * An HTTP/2 session from `connect`, its errors swallowed (a row reads where requests land), kept
 * in `sessions` for the file to destroy; resolved once connected unless `connected` is false.
 */
export async function openH2Session(
  connect: typeof http2.connect,
  authority: string,
  options: http2.SecureClientSessionOptions,
  sessions: Set<http2.ClientHttp2Session>,
  connected = true,
): Promise<http2.ClientHttp2Session> {
  const session = connect(authority, options);
  session.on('error', () => undefined);
  sessions.add(session);
  if (connected) await new Promise((resolve) => session.once('connect', resolve));
  return session;
}

/** How {@link expectH2Judged} sends its requests and finds where they arrived. */
export interface H2Requests {
  /** The session of the next request, asked for outside the lane. */
  session(): http2.ClientHttp2Session | Promise<http2.ClientHttp2Session>;
  /** Closes each session once its request is done. */
  readonly closeEach?: boolean;
  /** A `:path` no request used yet. */
  path(): string;
  /** Every arrival of `path` (one is expected). */
  hops(path: string): H2Hop[];
  /** Runs `go` in lane `beta` (`runWithGray`: this module loads no graylane of its own). */
  inLane(go: () => Promise<void>): Promise<void>;
}

/**
 * Sends each of {@link H2_CONTENTS} in the lane and with none: each lands on `lands` and carries
 * what arrives on a proven connection when `carries`, no marker at all when not.
 */
export async function expectH2Judged(
  lands: string,
  carries: boolean,
  requests: H2Requests,
): Promise<void> {
  for (const c of H2_CONTENTS)
    for (const lane of [true, false]) {
      const session = await requests.session();
      const path = requests.path();
      const go = (): Promise<void> => send(session, { ':path': path, ...c.headers });
      await (lane ? requests.inLane(go) : go());
      if (requests.closeEach) session.close();
      const hops = requests.hops(path);
      expect(hops, `one arrival for ${path}`).toHaveLength(1);
      const where = `${lane ? 'lane' : 'no lane'}, ${c.name}`;
      expect(hops[0]!.server, `${where}: lands on`).toBe(lands);
      const want = carries ? (lane ? c.lane : c.none) : { ids: [], grays: [] };
      expect(hops[0]!.grayIds, `${where}: X-Gray-Id`).toEqual(want.ids);
      expect(grays(hops[0]!), `${where}: gray members`).toEqual(want.grays);
    }
}
