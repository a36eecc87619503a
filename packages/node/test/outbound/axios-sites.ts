import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosRequestConfig, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, describe } from 'vitest';
import { attachGray, installGlobal } from '../../src/index.js';
import { markersOf, selfSignedCert } from './servers.js';

/*
 * The loopback servers of the axios "real connection" suites (RDR-01/02, CTX-13): every one
 * records the markers each request carried, answers `/r/<id>/<status>?to=<url>` with that
 * redirect and anything else with 200. All listen on 127.0.0.1 (ports tell them apart), but
 * `unix` (a local socket) and the h2c pair (HTTP/2 without TLS, prior knowledge).
 */

export type SiteName = 'a' | 'b' | 'ta' | 'tb' | 'unix' | 'h2a' | 'h2b';

/** What one server received for one request id. */
export interface Arrival {
  readonly server: SiteName;
  /** The Host header (or `:authority`): the name the hop was addressed to. */
  readonly host: string;
  readonly grayIds: string[];
  readonly grays: string[];
}

export interface Sites {
  /** `http://127.0.0.1:P` (`https:` for ta/tb); `unix` has none. */
  readonly origin: Record<Exclude<SiteName, 'unix'>, string>;
  readonly port: Record<Exclude<SiteName, 'unix'>, number>;
  /** The unix socket path of `unix`. */
  readonly socket: string;
  /** PEM of the self-signed certificate of ta and tb. */
  readonly ca: string;
  /** Allowlisted in every suite: a, ta, h2a. */
  readonly allowHosts: string[];
  arrivals(id: string): Arrival[];
  close(): Promise<void>;
}

type Req = IncomingMessage | http2.Http2ServerRequest;
type Res = ServerResponse | http2.Http2ServerResponse;

export async function startSites(): Promise<Sites> {
  const seen: (Arrival & { id: string })[] = [];
  const handler = (server: SiteName) => (req: Req, res: Res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [, kind, id = '', status] = url.pathname.split('/');
      const host = String(req.headers.host ?? req.headers[':authority'] ?? '');
      seen.push({ id, server, host, ...markersOf(req as IncomingMessage) });
      if (kind === 'r') {
        res.writeHead(Number(status), { location: url.searchParams.get('to') ?? '/' });
        res.end('moved');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(server);
    });
  };
  const { key, cert } = selfSignedCert();
  const dir = mkdtempSync(join(tmpdir(), 'graylane-axios-'));
  const socket = join(dir, 'u.sock');
  const closers: (() => Promise<void>)[] = [];
  /** Listens on a free 127.0.0.1 port (its number returned), or on a unix socket path (0). */
  const listen = async (
    s: http.Server | https.Server | http2.Http2Server,
    path?: string,
  ): Promise<number> => {
    const sessions = new Set<http2.ServerHttp2Session>();
    s.on('session', (session: http2.ServerHttp2Session) => sessions.add(session));
    await new Promise<void>((resolve) =>
      path === undefined ? s.listen(0, '127.0.0.1', resolve) : s.listen(path, resolve),
    );
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          for (const session of sessions) session.destroy();
          if ('closeAllConnections' in s) s.closeAllConnections();
        }),
    );
    return path === undefined ? (s.address() as AddressInfo).port : 0;
  };
  const a = await listen(http.createServer(handler('a')));
  const b = await listen(http.createServer(handler('b')));
  const ta = await listen(https.createServer({ key, cert }, handler('ta')));
  const tb = await listen(https.createServer({ key, cert }, handler('tb')));
  await listen(http.createServer(handler('unix')), socket);
  const h2a = await listen(http2.createServer(handler('h2a')));
  const h2b = await listen(http2.createServer(handler('h2b')));
  const port = { a, b, ta, tb, h2a, h2b };
  const origin = {
    a: `http://127.0.0.1:${a}`,
    b: `http://127.0.0.1:${b}`,
    ta: `https://127.0.0.1:${ta}`,
    tb: `https://127.0.0.1:${tb}`,
    h2a: `http://127.0.0.1:${h2a}`,
    h2b: `http://127.0.0.1:${h2b}`,
  };
  return {
    origin,
    port,
    socket,
    ca: cert,
    allowHosts: [`127.0.0.1:${a}`, `127.0.0.1:${ta}`, `127.0.0.1:${h2a}`],
    arrivals: (id) =>
      seen.filter((s) => s.id === id).map(({ id: _id, ...rest }) => rest as Arrival),
    close: async () => {
      await Promise.all(closers.map((c) => c()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `[server, marked]` per hop, as the suites write their expectations. */
export type Expected = readonly (readonly [SiteName, boolean])[];

/** The arrivals as `[server, X-Gray-Id lines, gray members]`, for one `toEqual`. */
export function shapeOf(arrivals: readonly Arrival[]): [SiteName, string[], string[]][] {
  return arrivals.map((a) => [a.server, a.grayIds, a.grays]);
}

/** The expectation in the same shape: a marked hop carries one header and one member. */
export function expectedShape(expected: Expected): [SiteName, string[], string[]][] {
  return expected.map(([server, marked]) => [
    server,
    marked ? ['beta'] : [],
    marked ? ['gray=beta'] : [],
  ]);
}

/** How the config under test reaches the request (CTX-14: the decision is made on the final one). */
export type Way = 'the default instance' | 'an instance’s defaults' | 'a later interceptor';
export const WAYS: readonly Way[] = [
  'the default instance',
  'an instance’s defaults',
  'a later interceptor',
];

/**
 * POSTs `x=1` to `url` through axios' http adapter with `config` delivered `way`: on the default
 * instance (graylane attached by the suite) as request config, as a new instance's defaults, or
 * set by an interceptor registered after `attachGray`.
 */
export function post(
  way: Way,
  url: string,
  config: Record<string, unknown>,
  allowHosts: string[],
): Promise<unknown> {
  const all = { adapter: 'http', ...config } as AxiosRequestConfig;
  if (way === 'the default instance') return axios.post(url, 'x=1', all);
  const api = axios.create(way === 'an instance’s defaults' ? all : { adapter: 'http' });
  attachGray(api, { allowHosts });
  if (way === 'a later interceptor')
    api.interceptors.request.use((c: InternalAxiosRequestConfig) => Object.assign(c, all));
  return api.post(url, 'x=1');
}

/** Runs `suite` twice: with `attachGray` alone, and beside `installGlobal({ allowHosts })`. */
export function inBothModes(suite: () => void, allowHosts: () => readonly string[]): void {
  describe('attachGray alone', () => {
    suite();
  });
  describe('attachGray beside installGlobal', () => {
    let uninstall: () => void;
    beforeAll(() => {
      uninstall = installGlobal({ allowHosts: allowHosts() });
    });
    afterAll(() => uninstall());
    suite();
  });
}
