import { rmSync } from 'node:fs';
import http2, { connect as namedConnect, type ClientHttp2Session } from 'node:http2';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import {
  expectH2Judged,
  openH2Session,
  startH2Topology,
  type H2Hop,
  type H2Topology,
} from './h2-servers.js';

/*
 * CTX-13 (review 128 D2, the HTTP/2 form) with `installGlobal({ allowHosts })`: a session is
 * judged on the authority `http2.connect` was given, but Node connects elsewhere when the options
 * say so — `createConnection` (whatever socket it returns), `host`/`port` spread over the
 * authority's, a `path` (a local socket). The old code sent the marker, and the caller's, down
 * such a connection to a host off the allowlist. Now `installGlobal` wraps `http2.connect` to see
 * how each session is connected: the host Node connects to must be allowed with the authority,
 * and a connection other code made has no target unless its socket proves, when the request is
 * made, that it reaches the authority: a verified TLS certificate for its host (http2-wrapper's
 * sessions), or that peer address and port. Rows in a lane and with none, with graylane's
 * marker and the caller's, through `http2.connect`, the ESM named `connect` and CommonJS
 * `require('http2').connect`, each read when called (a `connect` taken from the module before
 * `installGlobal()` is not seen: documented). Controls keep the marker on Node's own
 * connections.
 */

const NAME = 'orders.graylane.test';
const SOCK = join(tmpdir(), `graylane-h2-${process.pid}.sock`);
const cjsHttp2 = createRequire(import.meta.url)('http2') as typeof http2;

let topo: H2Topology;
let pipe: http2.Http2Server;
const piped = new Map<string, H2Hop>();
let uninstall: () => void;
let seq = 0;
const sessions = new Set<ClientHttp2Session>();

beforeAll(async () => {
  topo = await startH2Topology();
  rmSync(SOCK, { force: true });
  pipe = http2.createServer();
  pipe.on('stream', (stream, headers) => {
    const lines = (n: string): string[] => {
      const v = headers[n];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    };
    const path = String(headers[':path']);
    piped.set(path, {
      server: 'pipe',
      path,
      authority: String(headers[':authority']),
      grayIds: lines('x-gray-id'),
      baggage: lines('baggage'),
      names: Object.keys(headers),
      sensitive: [],
    });
    stream.respond({ ':status': 200 });
    stream.end();
  });
  await new Promise<void>((resolve) => pipe.listen(SOCK, resolve));
  uninstall = installGlobal({
    allowHosts: [
      topo.origins.a,
      topo.origins.tls,
      `https://localhost:${topo.ports.tls}`,
      `http://${NAME}:${topo.ports.a}`,
    ],
  });
});
afterAll(async () => {
  uninstall();
  for (const s of sessions) s.destroy();
  await new Promise<void>((resolve) => pipe.close(() => resolve()));
  await topo.close();
});

type Connect = typeof http2.connect;
const CONNECTS: [string, () => Connect][] = [
  ['http2.connect', () => http2.connect],
  ['ESM named connect', () => namedConnect],
  ['require("http2").connect', () => cjsHttp2.connect],
];

const h2c = (port: number) => (): net.Socket => net.connect(port, '127.0.0.1');
const overTls =
  (options: tls.ConnectionOptions = {}) =>
  (): tls.TLSSocket =>
    tls.connect({
      host: '127.0.0.1',
      port: topo.ports.tls,
      ca: topo.ca,
      ALPNProtocols: ['h2'],
      ...options,
    });

const lookupTo127 = (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void): void => {
  if (o.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

interface Route {
  readonly name: string;
  readonly authority: () => string;
  readonly options: () => http2.SecureClientSessionOptions;
  readonly lands: 'a' | 'b' | 'tls' | 'pipe';
  readonly allowed: boolean;
  /** Send once the session is connected (a TLS handshake done), not at once. */
  readonly connected?: boolean;
}

const ROUTES: Route[] = [
  {
    name: 'createConnection to b',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(topo.ports.b) }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'createConnection to b, request sent once connected (the peer is b)',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(topo.ports.b) }),
    lands: 'b',
    allowed: false,
    connected: true,
  },
  {
    name: 'createConnection to the same host, request sent while it connects (unproven)',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(topo.ports.a) }),
    lands: 'a',
    allowed: false,
  },
  {
    name: 'options.port of b',
    authority: () => topo.origins.a,
    options: () => ({ port: topo.ports.b }),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'options.host naming another host (localhost)',
    authority: () => topo.origins.a,
    options: () => ({ host: 'localhost' }),
    lands: 'a',
    allowed: false,
  },
  {
    name: 'control: options.path (a local socket: its Pipe handle told it already)',
    authority: () => topo.origins.a,
    options: () => ({ path: SOCK }) as http2.SecureClientSessionOptions,
    lands: 'pipe',
    allowed: false,
  },
  {
    name: 'https: createConnection to 127.0.0.1 for authority localhost, TLS not verified',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ createConnection: overTls({ ca: undefined, rejectUnauthorized: false }) }),
    lands: 'tls',
    allowed: false,
    connected: true,
  },
  {
    name: 'https: createConnection, request sent before the handshake',
    authority: () => topo.origins.tls,
    options: () => ({ createConnection: overTls() }),
    lands: 'tls',
    allowed: false,
  },
  // --- controls ---------------------------------------------------------------------------------
  {
    name: 'control: Node connects to the authority',
    authority: () => topo.origins.a,
    options: () => ({}),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: Node connects to b',
    authority: () => topo.origins.b,
    options: () => ({}),
    lands: 'b',
    allowed: false,
  },
  {
    name: 'control: options.port equal to the authority’s',
    authority: () => topo.origins.a,
    options: () => ({ port: topo.ports.a }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: a lookup resolving the allowlisted name',
    authority: () => `http://${NAME}:${topo.ports.a}`,
    options: () => ({ lookup: lookupTo127 as unknown as net.LookupFunction }),
    lands: 'a',
    allowed: true,
  },
  {
    name: 'control: https, Node connects (TLS verified)',
    authority: () => topo.origins.tls,
    options: () => ({ ca: topo.ca }),
    lands: 'tls',
    allowed: true,
  },
  {
    name: 'control: createConnection to the same host, request sent once connected (its peer)',
    authority: () => topo.origins.a,
    options: () => ({ createConnection: h2c(topo.ports.a) }),
    lands: 'a',
    allowed: true,
    connected: true,
  },
  {
    name: 'control: https, createConnection whose verified certificate names the authority',
    authority: () => topo.origins.tls,
    options: () => ({ createConnection: overTls() }),
    lands: 'tls',
    allowed: true,
    connected: true,
  },
  {
    name: 'control: https, createConnection to 127.0.0.1 for authority localhost, verified',
    authority: () => `https://localhost:${topo.ports.tls}`,
    options: () => ({ createConnection: overTls({ servername: 'localhost' }) }),
    lands: 'tls',
    allowed: true,
    connected: true,
  },
  {
    name: 'control: https over a socket of the caller’s, verified',
    authority: () => topo.origins.tls,
    options: () => ({ ca: topo.ca, socket: net.connect(topo.ports.tls, '127.0.0.1') }),
    lands: 'tls',
    allowed: true,
    connected: true,
  },
];

describe.each(CONNECTS)('%s', (_connectName, connect) => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    'CTX-13 I8 judged where the session connects: %s',
    async (_name, route) =>
      expectH2Judged(route.lands, route.allowed, {
        session: () =>
          openH2Session(
            connect(),
            route.authority(),
            route.options(),
            sessions,
            route.connected ?? false,
          ),
        closeEach: true,
        path: () => `/conn/${++seq}`,
        hops: (path) => [...topo.hops(path), ...(piped.has(path) ? [piped.get(path)!] : [])],
        inLane: (go) => runWithGray('beta', go),
      }),
  );
});
