import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import httpProxy from 'http-proxy';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, installGlobal, signMarker, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { closeAll, listen, waitFor, type Listening } from './helpers.js';

/**
 * GW-01/02 (RELIABILITY §10) for WebSocket handshakes. Node emits `upgrade`, not `request`, so
 * no middleware runs on a handshake; a gateway decides in its own `upgrade` handler with
 * `gray.upgrade(req, fn)` and proxies inside it (docs/gateways.md "WebSockets"). A real `ws`
 * upstream records the handshake it received: the client's marker carriers must be gone from it
 * (header, both cookie names, the baggage member, the query marker), and, with `installGlobal`
 * active, it must carry exactly the version the gateway decided.
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [{ id: 'rule-path', match: { path: { prefix: '/rule' } }, version: 'canary' }],
};
const token = (v: string) => signMarker(v, { key: KEY, kid: 'k1', ttlSeconds: 600 });

interface Handshake {
  url: string;
  headers: IncomingHttpHeaders;
}
const handshakes = new Map<string, Handshake>();
let upstream: Listening;
let uninstall: () => void = () => undefined;

beforeAll(async () => {
  const server = http.createServer((_req, res) => res.end('http'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req: IncomingMessage) => {
    handshakes.set(String(req.headers['x-probe']), { url: req.url ?? '', headers: req.headers });
    ws.close();
  });
  upstream = await listen(server);
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  await closeAll();
});

type Options = Omit<GraylaneOptions, 'config' | 'attributes' | 'subject' | 'onDecision'>;
type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Each gateway decides in `server.on('upgrade')`, then hands the socket to its proxy. */
const gateways: Record<string, (o: Options) => Promise<Listening>> = {
  'express + http-proxy-middleware (proxy.upgrade)': async (o) => {
    const app = express();
    const gray = graylaneExpress({ config: CONFIG, ...o });
    app.use(gray);
    // No `ws: true`: hpm would subscribe its own `upgrade` handler, which graylane never sees.
    const proxy = createProxyMiddleware({ target: upstream.url, changeOrigin: true });
    app.use(proxy);
    const server = http.createServer(app);
    const onUpgrade: Upgrade = (req, socket, head) =>
      gray.graylane.upgrade(req, () => proxy.upgrade(req, socket as never, head));
    server.on('upgrade', onUpgrade);
    return listen(server);
  },
  'node:http + http-proxy (proxy.ws)': async (o) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    const proxy = httpProxy.createProxyServer({ target: upstream.url });
    proxy.on('error', () => undefined);
    const server = http.createServer((req, res) =>
      gray.handle(req, res, () => proxy.web(req, res)),
    );
    const onUpgrade: Upgrade = (req, socket, head) =>
      gray.upgrade(req, () => proxy.ws(req, socket, head));
    server.on('upgrade', onUpgrade);
    return listen(server);
  },
};

const BARE = {
  'x-gray-id': 'beta',
  cookie: 'a=1; gray=beta; __Host-gray=canary; b=2',
  baggage: 'k=v,gray=beta,z=1',
};
type Row = [
  name: string,
  options: Options,
  path: string,
  headers: Record<string, string>,
  expected: string,
];
const edge: Options = { trust: 'edge' };
const edgeQuery: Options = { trust: 'edge', markers: { query: 'gray' } };
const signed: Options = { trust: 'signed', keys: { k1: KEY } };
const signedQuery: Options = { trust: 'signed', keys: { k1: KEY }, markers: { query: 'gray' } };
const ROWS: Row[] = [
  ['edge: header', edge, '/ws?x=1', { 'x-gray-id': 'beta' }, 'stable'],
  ['edge: gray cookie', edge, '/ws?x=1', { cookie: 'a=1; gray=beta; b=2' }, 'stable'],
  ['edge: __Host-gray cookie', edge, '/ws?x=1', { cookie: 'a=1; __Host-gray=beta; b=2' }, 'stable'],
  ['edge: baggage member', edge, '/ws?x=1', { baggage: 'k=v,gray=beta,z=1' }, 'stable'],
  ['edge: query marker (not read)', edge, '/ws?x=1&gray=beta', {}, 'stable'],
  ['edge: query marker (read)', edgeQuery, '/ws?x=1&gray=beta', {}, 'stable'],
  ['edge: every carrier', edgeQuery, '/ws?x=1&gray=beta', BARE, 'stable'],
  ['edge: every carrier, a rule decides', edge, '/rule?x=1&gray=beta', BARE, 'canary'],
  ['signed: bare labels on every carrier', signedQuery, '/ws?x=1&gray=beta', BARE, 'stable'],
  ['signed: bare labels, a rule decides', signed, '/rule?x=1&gray=beta', BARE, 'canary'],
  [
    'signed: token header, bare labels elsewhere',
    signedQuery,
    '/ws?x=1&gray=canary',
    { ...BARE, 'x-gray-id': token('beta') },
    'beta',
  ],
  [
    'signed: token cookie, bare labels elsewhere',
    signedQuery,
    '/ws?x=1&gray=beta',
    { 'x-gray-id': 'beta', cookie: `a=1; gray=${token('canary')}; b=2`, baggage: 'gray=beta' },
    'canary',
  ],
  [
    'signed: token baggage, bare query',
    signedQuery,
    '/ws?x=1&gray=canary',
    { baggage: `k=v,gray=${token('beta')}` },
    'beta',
  ],
];

/** Every marker the upstream's handshake carried, as `carrier:value`. */
function markersSeen(h: Handshake): string[] {
  const seen: string[] = [];
  const header = h.headers['x-gray-id'];
  if (header !== undefined) seen.push(`header:${String(header)}`);
  for (const pair of String(h.headers.cookie ?? '').split(';')) {
    const [name, value] = pair.trim().split('=');
    if (name === 'gray' || name === '__Host-gray') seen.push(`cookie:${value ?? ''}`);
  }
  for (const member of String(h.headers.baggage ?? '').split(',')) {
    const [name, value] = member.split(';')[0]?.trim().split('=') ?? [];
    if (name === 'gray') seen.push(`baggage:${value ?? ''}`);
  }
  const q = h.url.indexOf('?');
  for (const [k, v] of new URLSearchParams(q === -1 ? '' : h.url.slice(q + 1)))
    if (k === 'gray') seen.push(`query:${v}`);
  return seen;
}

let probes = 0;
async function handshake(gw: Listening, path: string, headers: Record<string, string>) {
  const id = `p${++probes}`;
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, {
    headers: { ...headers, 'x-probe': id },
  });
  const done = new Promise<void>((resolve) => {
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
  });
  await waitFor(() => handshakes.has(id), 5_000, `the handshake ${id} upstream`);
  await done;
  return handshakes.get(id) as Handshake;
}

describe.each(Object.keys(gateways))('GW-02 WebSocket handshake through %s', (gw) => {
  it.each(ROWS)('GW-02 %s', async (_name, options, path, headers, expected) => {
    const s = await (gateways[gw] as (o: Options) => Promise<Listening>)({
      allowHosts: [`127.0.0.1:${upstream.port}`],
      ...options,
    });
    const h = await handshake(s, path, headers);
    // The decided version, on the header (installGlobal on the proxied handshake), and no
    // carrier saying anything else (installGlobal also sets its own baggage member).
    const seen = markersSeen(h);
    expect(seen).toContain(`header:${expected}`);
    expect(seen.filter((m) => m.startsWith('header:'))).toHaveLength(1);
    for (const m of seen) expect(m, JSON.stringify(seen)).toBe(`${m.split(':')[0]}:${expected}`);
    // The rest of each carrier travels on.
    expect(h.url).toMatch(/[?&]x=1(&|$)/);
    if (headers.cookie?.includes('a=1')) expect(h.headers.cookie).toMatch(/^a=1; b=2(; |$)/);
    if (headers.baggage?.startsWith('k=v')) expect(String(h.headers.baggage)).toMatch(/k=v/);
  });
});
