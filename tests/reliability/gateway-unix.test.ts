import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayDecision, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { graylaneHono } from '@graylane/node/hono';
import { selfSignedCert } from '../../packages/node/test/outbound/servers.js';

/**
 * GW-04 behind a proxy on a Unix domain socket (nginx `proxy_pass http://unix:/run/app.sock`):
 * the peer has no IP address, so no address entry can name it. `trustedProxies: ['unix']`
 * trusts the peers of a server listening on a socket path, and nothing else: never a TCP peer,
 * never a peer because its address is missing. Real servers on socket files, every adapter,
 * HTTP/1.1, TLS and HTTP/2.
 */
const dir = mkdtempSync(join(tmpdir(), 'graylane-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

const CONFIG = { versions: ['stable', 'beta'], default: 'stable' };
type Options = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'>;
type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** `trustedProxies` as an option, absent for `undefined` (exactOptionalPropertyTypes). */
const peers = (list: readonly string[] | undefined) =>
  list === undefined ? {} : { trustedProxies: list };

const reply = () =>
  JSON.stringify({ version: getGrayDecision()?.version, source: getGrayDecision()?.source });

/** A request listener per adapter: graylane in front of a handler that reports the decision. */
const adapters: Record<string, (options: Options) => Promise<Listener>> = {
  'node:http': async (options) => {
    const gray = createGraylane(options);
    return (req, res) => gray.handle(req, res, () => res.end(reply()));
  },
  express: async (options) => {
    const app = express();
    app.use(graylaneExpress(options));
    app.use((_req, res) => void res.end(reply()));
    return app;
  },
  koa: async (options) => {
    const app = new Koa();
    app.use(graylaneKoa(options));
    app.use((ctx) => {
      ctx.body = reply();
    });
    return app.callback();
  },
  fastify: async (options) => {
    // fastify owns its server: hand its routing to the socket server through `serverFactory`.
    let route: Listener | undefined;
    const app = Fastify({
      serverFactory: (handler) => {
        route = handler;
        return http.createServer(handler);
      },
    });
    await app.register(graylaneFastify, options);
    app.get('/*', async () => reply());
    await app.ready();
    return (req, res) => route?.(req, res);
  },
  hono: async (options) => {
    const app = new Hono();
    app.use(graylaneHono(options));
    app.get('/*', (c) => c.text(reply()));
    return getRequestListener(app.fetch) as Listener;
  },
};

const socketPath = () => join(dir, `s${++sockets}.sock`);
const close = (server: net.Server) =>
  new Promise<void>((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
const listening = (server: net.Server, where: string | number) =>
  new Promise<void>((resolve) =>
    typeof where === 'string'
      ? server.listen(where, resolve)
      : server.listen(where, '127.0.0.1', resolve),
  );

/** One GET over a socket path (or a TCP port) with the given headers; the body and cookies. */
function get(
  where: string | number,
  headers: Record<string, string>,
  secure = false,
): Promise<{ body: { version?: string }; cookies: string[] }> {
  const target =
    typeof where === 'string' ? { socketPath: where } : { host: '127.0.0.1', port: where };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).get(
      { ...target, path: '/', headers, rejectUnauthorized: false, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ body: JSON.parse(text) as never, cookies: res.headers['set-cookie'] ?? [] }),
        );
      },
    );
    req.on('error', reject);
  });
}

const CLIENT = { 'x-gray-id': 'beta', cookie: 'gray=beta', baggage: 'gray=beta' };
/** [trustedProxies, honoured over a Unix socket] */
const LISTS: [readonly string[] | undefined, boolean][] = [
  [['unix'], true],
  [['10.0.0.0/8', 'unix'], true],
  [['unix', '::1'], true],
  [['127.0.0.1', '::1'], false],
  [['0.0.0.0/0', '::/0'], false],
  [[], false],
  [undefined, false],
];
const MARKERS: [string, Record<string, string>][] = [
  ['header', { 'x-gray-id': 'beta' }],
  ['cookie', { cookie: 'gray=beta' }],
  ['baggage', { baggage: 'gray=beta' }],
  ['all three', CLIENT],
];

describe('GW-04 trustedProxies: a proxy on a Unix domain socket', () => {
  const rows = Object.keys(adapters).flatMap((name) =>
    LISTS.flatMap(([list, honoured]) =>
      MARKERS.map(([marker, headers]) => [name, list, marker, honoured, headers] as const),
    ),
  );
  it.each(rows)(
    'GW-04 %s on a socket path, trustedProxies %j, %s marker → honoured: %s',
    async (name, list, _marker, honoured, headers) => {
      const listener = await adapters[name]!({
        config: CONFIG,
        trust: 'edge',
        ...peers(list),
      });
      const server = http.createServer(listener);
      const path = socketPath();
      await listening(server, path);
      try {
        const { body } = await get(path, headers);
        expect(body.version).toBe(honoured ? 'beta' : 'stable');
      } finally {
        await close(server);
      }
    },
  );

  // 'unix' names the listener, never a TCP peer: the same adapters on loopback TCP.
  it.each(Object.keys(adapters))(
    'GW-04 %s on TCP, trustedProxies ["unix"] → a loopback peer is not trusted',
    async (name) => {
      const listener = await adapters[name]!({
        config: CONFIG,
        trust: 'edge',
        trustedProxies: ['unix'],
      });
      const server = http.createServer(listener);
      await listening(server, 0);
      try {
        const { body } = await get((server.address() as net.AddressInfo).port, CLIENT);
        expect(body.version).toBe('stable');
      } finally {
        await close(server);
      }
    },
  );

  it.each(['Unix', 'UNIX', 'unix:', 'unix:/run/app.sock', ' unix', 'pipe'])(
    'GW-04 %j is refused at construction with a clear error',
    (entry) => {
      expect(() =>
        createGraylane({ config: CONFIG, trust: 'edge', trustedProxies: [entry] }),
      ).toThrow(/trustedProxies: .* is not an IP address, CIDR network or 'unix'/);
    },
  );
});

describe('GW-04 a Unix socket under TLS and HTTP/2', () => {
  const { key, cert } = selfSignedCert();
  const handler = (list: readonly string[] | undefined) => {
    const gray = createGraylane({ config: CONFIG, trust: 'edge', ...peers(list) });
    return (req: http.IncomingMessage, res: http.ServerResponse) =>
      gray.handle(req, res, () => res.end(reply()));
  };

  it.each(LISTS)(
    'GW-04 https on a socket path, trustedProxies %j → honoured %s',
    async (list, honoured) => {
      const server = https.createServer({ key, cert }, handler(list));
      const path = socketPath();
      await listening(server, path);
      try {
        const { body } = await get(path, CLIENT, true);
        expect(body.version).toBe(honoured ? 'beta' : 'stable');
      } finally {
        await close(server);
      }
    },
  );

  const h2 = async (secure: boolean, list: readonly string[] | undefined) => {
    const listener = handler(list) as unknown as (
      req: http2.Http2ServerRequest,
      res: http2.Http2ServerResponse,
    ) => void;
    const server = secure
      ? http2.createSecureServer({ key, cert }, listener)
      : http2.createServer(listener);
    const path = socketPath();
    await listening(server, path);
    const session = http2.connect(secure ? 'https://localhost' : 'http://localhost', {
      createConnection: () =>
        secure
          ? tls.connect({ path, rejectUnauthorized: false, ALPNProtocols: ['h2'] })
          : net.connect(path),
    });
    try {
      const stream = session.request({ ':path': '/', ...CLIENT });
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (text += c));
      await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
      return JSON.parse(text) as { version?: string };
    } finally {
      session.close();
      await close(server);
    }
  };
  it.each(LISTS)(
    'GW-04 h2c on a socket path, trustedProxies %j → honoured %s',
    async (list, honoured) => {
      expect((await h2(false, list)).version).toBe(honoured ? 'beta' : 'stable');
    },
  );
  it.each(LISTS)(
    'GW-04 h2 (TLS) on a socket path, trustedProxies %j → honoured %s',
    async (list, honoured) => {
      expect((await h2(true, list)).version).toBe(honoured ? 'beta' : 'stable');
    },
  );

  // BC-03: `X-Forwarded-Proto: https` from the socket's proxy counts as TLS only when trusted.
  it.each(LISTS)(
    'BC-03 sticky cookie behind a Unix-socket proxy, trustedProxies %j → Secure: %s',
    async (list, secure) => {
      const gray = createGraylane({
        config: {
          ...CONFIG,
          rules: [
            { id: 'all', split: [{ version: 'beta', weight: 100 }], bucketBy: 'cookie:gray_uid' },
          ],
        },
        sticky: true,
        ...peers(list),
      });
      const server = http.createServer((req, res) => gray.handle(req, res, () => res.end(reply())));
      const path = socketPath();
      await listening(server, path);
      try {
        const { cookies } = await get(path, { 'x-forwarded-proto': 'https' });
        const version = cookies.find((c) => /^(__Host-)?gray=/.test(c));
        expect(version).toBeDefined();
        expect(version!.startsWith('__Host-gray=')).toBe(secure);
        expect(/;\s*Secure/i.test(version!)).toBe(secure);
      } finally {
        await close(server);
      }
    },
  );
});
