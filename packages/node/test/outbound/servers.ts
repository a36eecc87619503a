import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request as a loopback server received it. */
export interface Hop {
  /** Which server answered: `a`, `b`, `v6`, `tls`. */
  readonly server: string;
  /** The Host header: tells `127.0.0.1:P` from `localhost:P` on server `a`. */
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly body: string;
  /** Every `X-Gray-Id` header line, raw (two lines would be `beta, beta` after joining). */
  readonly grayIds: string[];
  /** Every `baggage` line, raw. */
  readonly baggage: string[];
}

/** A place a request can be sent: a server and the name used to reach it. */
export interface Site {
  readonly name: string;
  readonly origin: string;
}

/**
 * The loopback topology of the redirect and target suites:
 * - `a`    http://127.0.0.1:PA — the allowlisted service;
 * - `b`    http://127.0.0.1:PB — another port (not allowlisted);
 * - `name` http://localhost:PA — the same server as `a` under another name (not allowlisted);
 * - `v6`   http://[::1]:PV — another IP (not allowlisted);
 * - `tls`  https://127.0.0.1:PT — another scheme; the allowlist names http://127.0.0.1:PT only.
 * Every server records what it received, and answers `/r/<id>/<status>?to=<url>` with that
 * redirect and `/echo/<id>` with 200.
 */
export interface Topology {
  readonly a: Site;
  readonly b: Site;
  readonly name: Site;
  readonly v6: Site;
  readonly tls: Site;
  readonly ports: {
    readonly a: number;
    readonly b: number;
    readonly v6: number;
    readonly tls: number;
  };
  /** PEM of the self-signed certificate of `tls` (trust it in each client). */
  readonly ca: string;
  /** The hops recorded for request id `id`, in arrival order. */
  hops(id: string): Hop[];
  close(): Promise<void>;
}

export async function startTopology(
  tls: { key: string; cert: string } = selfSignedCert(),
): Promise<Topology> {
  const seen: (Hop & { id: string })[] = [];
  const { key, cert } = tls;
  const handler = (server: string) => (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [, kind, id = '', status] = url.pathname.split('/');
      seen.push({
        id,
        server,
        host: req.headers.host ?? '',
        method: req.method ?? '',
        path: url.pathname,
        body: Buffer.concat(chunks).toString(),
        grayIds: lines(req, 'x-gray-id'),
        baggage: lines(req, 'baggage'),
      });
      if (kind === 'r') {
        res.writeHead(Number(status), { location: url.searchParams.get('to') ?? '/' });
        res.end('moved');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ server, method: req.method, body: Buffer.concat(chunks).toString() }),
      );
    });
  };
  const servers: http.Server[] = [];
  const start = async (s: http.Server, host: string): Promise<number> => {
    await new Promise<void>((resolve) => s.listen(0, host, resolve));
    servers.push(s);
    return (s.address() as AddressInfo).port;
  };
  const pa = await start(
    http.createServer({ requireHostHeader: false }, handler('a')),
    '127.0.0.1',
  );
  const pb = await start(
    http.createServer({ requireHostHeader: false }, handler('b')),
    '127.0.0.1',
  );
  const pv = await start(http.createServer(handler('v6')), '::1');
  const pt = await start(https.createServer({ key, cert }, handler('tls')), '127.0.0.1');
  return {
    a: { name: 'a', origin: `http://127.0.0.1:${pa}` },
    b: { name: 'b', origin: `http://127.0.0.1:${pb}` },
    name: { name: 'name', origin: `http://localhost:${pa}` },
    v6: { name: 'v6', origin: `http://[::1]:${pv}` },
    tls: { name: 'tls', origin: `https://127.0.0.1:${pt}` },
    ports: { a: pa, b: pb, v6: pv, tls: pt },
    ca: cert,
    hops: (id) => seen.filter((h) => h.id === id),
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}

/** A URL on `sites[0]` that redirects through every site in turn to `/echo/<id>` on the last. */
export function chainUrl(id: string, sites: readonly Site[], status: number): string {
  const last = sites[sites.length - 1] as Site;
  let url = `${last.origin}/echo/${id}`;
  for (let i = sites.length - 2; i >= 0; i--)
    url = `${(sites[i] as Site).origin}/r/${id}/${status}?to=${encodeURIComponent(url)}`;
  return url;
}

/** The markers one request carried, as a proxy or server in front of the target sees them. */
export interface Markers {
  /** Every `X-Gray-Id` header line, raw. */
  readonly grayIds: string[];
  /** Every baggage member starting with `gray`, over all `baggage` lines, trimmed. */
  readonly grays: string[];
}

/** The markers `req` carried (read from `rawHeaders`: two lines stay two entries). */
export function markersOf(req: IncomingMessage): Markers {
  const grays = lines(req, 'baggage')
    .flatMap((v) => v.split(',').map((m) => m.trim()))
    .filter((m) => m.startsWith('gray'));
  return { grayIds: lines(req, 'x-gray-id'), grays };
}

function lines(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === name) out.push(req.rawHeaders[i + 1] as string);
  return out;
}

/** A throw-away self-signed certificate for 127.0.0.1, ::1 and localhost (openssl, one day). */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts `server` on a free 127.0.0.1 port and gives back its origin (`http://127.0.0.1:N`). */
export async function listenLocal(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server`, kept-alive sockets included. */
export function closeLocal(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
