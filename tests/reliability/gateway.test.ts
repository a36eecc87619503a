import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, installGlobal, signMarker, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { graylaneHono } from '@graylane/node/hono';
import { closeAll, listen, type Listening } from './helpers.js';

/**
 * GW-01/02 (RELIABILITY §10): what a gateway forwards. Real gateways (express +
 * http-proxy-middleware, a hand-written `http.request` proxy, undici, fetch) with `installGlobal`
 * active proxy the client's request to a real upstream that echoes what it received. The upstream
 * must see exactly the version the gateway decided — never a client marker that was untrusted,
 * rejected or overridden — on every carrier (header, cookie pair, baggage member, query marker).
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [{ id: 'rule-path', match: { path: { prefix: '/rule' } }, version: 'canary' }],
};
/** Options every adapter takes alike: nothing that is called with the framework's request. */
type LayerOptions = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'>;

const token = (v: string, ageSeconds = 0) =>
  signMarker(v, {
    key: KEY,
    kid: 'k1',
    ttlSeconds: 600,
    now: () => Date.now() - ageSeconds * 1000,
  });

interface Echo {
  headers: IncomingHttpHeaders;
  url: string;
}

let upstream: Listening;
let uninstall: () => void = () => undefined;

beforeAll(async () => {
  upstream = await listen(
    http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers, url: req.url ?? '' } satisfies Echo));
    }),
  );
  // Process-wide, as a gateway would run it: every outbound http/undici/fetch call is covered.
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  await closeAll();
});

const allow = () => [`127.0.0.1:${upstream.port}`];
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade']);
const forwardable = (h: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

/** Each proxy forwards the request as the app sees it after graylane ran. */
const proxies: Record<string, () => express.RequestHandler> = {
  'http-proxy-middleware': () =>
    createProxyMiddleware<IncomingMessage, ServerResponse>({ target: upstream.url }),
  'http.request': () => (req, res) => {
    const out = http.request(
      {
        host: '127.0.0.1',
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: forwardable(req.headers),
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  },
  'undici.request': () => async (req, res) => {
    const r = await undiciRequest(`${upstream.url}${req.url}`, {
      headers: forwardable(req.headers),
    });
    res.setHeader('content-type', 'application/json');
    res.end(await r.body.text());
  },
  fetch: () => async (req, res) => {
    const r = await fetch(`${upstream.url}${req.url}`, { headers: forwardable(req.headers) });
    res.setHeader('content-type', 'application/json');
    res.end(await r.text());
  },
};

async function gateway(proxy: string, options: Partial<GraylaneOptions>): Promise<Listening> {
  const app = express();
  app.use(graylaneExpress({ config: CONFIG, allowHosts: allow(), debugHeader: true, ...options }));
  app.use((proxies[proxy] as () => express.RequestHandler)());
  return listen(http.createServer(app));
}

/** Every marker value the upstream received, per carrier. */
function markersSeen(echo: Echo): string[] {
  const seen: string[] = [];
  const h = echo.headers['x-gray-id'];
  if (h !== undefined) seen.push(`header:${String(h)}`);
  for (const pair of String(echo.headers.cookie ?? '').split(';')) {
    const [name, value] = pair.trim().split('=');
    if (name === 'gray' || name === '__Host-gray') seen.push(`cookie:${value ?? ''}`);
  }
  for (const member of String(echo.headers.baggage ?? '').split(',')) {
    const [name, value] = member.split(';')[0]?.trim().split('=') ?? [];
    if (name === 'gray') seen.push(`baggage:${value ?? ''}`);
  }
  const q = echo.url.indexOf('?');
  for (const [k, v] of new URLSearchParams(q === -1 ? '' : echo.url.slice(q + 1)))
    if (k === 'gray') seen.push(`query:${v}`);
  return seen;
}

type Row = [
  name: string,
  trust: 'open' | 'signed',
  path: string,
  headers: () => Record<string, string>,
  expected: string,
];
const ROWS: Row[] = [
  ['open: accepted header', 'open', '/x', () => ({ 'x-gray-id': 'beta' }), 'beta'],
  ['open: unknown header', 'open', '/x', () => ({ 'x-gray-id': 'gamma' }), 'stable'],
  ['open: ambiguous header', 'open', '/x', () => ({ 'x-gray-id': 'beta, stable' }), 'stable'],
  ['open: upper-case header', 'open', '/x', () => ({ 'x-gray-id': 'BETA' }), 'stable'],
  [
    'open: header overrides a cookie',
    'open',
    '/x',
    () => ({ 'x-gray-id': 'beta', cookie: 'a=1; gray=canary' }),
    'beta',
  ],
  ['open: cookie decides', 'open', '/x', () => ({ cookie: 'a=1; gray=canary' }), 'canary'],
  [
    'open: ambiguous cookie',
    'open',
    '/x',
    () => ({ cookie: 'gray=beta; a=1; gray=canary' }),
    'stable',
  ],
  [
    'open: header overrides baggage',
    'open',
    '/x',
    () => ({ 'x-gray-id': 'beta', baggage: 'a=1,gray=canary' }),
    'beta',
  ],
  [
    'open: ambiguous baggage',
    'open',
    '/x',
    () => ({ baggage: 'gray=beta,a=1,gray=canary' }),
    'stable',
  ],
  [
    'open: header overrides the query',
    'open',
    '/x?gray=canary&a=1',
    () => ({ 'x-gray-id': 'beta' }),
    'beta',
  ],
  ['open: query decides', 'open', '/x?a=1&gray=canary', () => ({}), 'canary'],
  [
    'open: rejected everywhere, a rule decides',
    'open',
    '/rule',
    () => ({ 'x-gray-id': 'gamma', cookie: 'gray=%ZZ', baggage: 'gray=Beta' }),
    'canary',
  ],
  ['signed: bare label is untrusted', 'signed', '/x', () => ({ 'x-gray-id': 'beta' }), 'stable'],
  [
    'signed: bare labels on every carrier',
    'signed',
    '/x?gray=beta',
    () => ({ 'x-gray-id': 'beta', cookie: 'gray=canary', baggage: 'gray=beta' }),
    'stable',
  ],
  [
    'signed: valid token in the header',
    'signed',
    '/x',
    () => ({ 'x-gray-id': token('beta') }),
    'beta',
  ],
  ['signed: expired token', 'signed', '/x', () => ({ 'x-gray-id': token('beta', 3600) }), 'stable'],
  [
    'signed: token in the cookie, bare header',
    'signed',
    '/x',
    () => ({ 'x-gray-id': 'beta', cookie: `gray=${token('canary')}` }),
    'canary',
  ],
  [
    'signed: token header, bare cookie and baggage',
    'signed',
    '/x',
    () => ({ 'x-gray-id': token('beta'), cookie: 'gray=canary', baggage: 'gray=canary' }),
    'beta',
  ],
  [
    'signed: untrusted marker, a rule decides',
    'signed',
    '/rule',
    () => ({ 'x-gray-id': 'beta', cookie: 'gray=beta' }),
    'canary',
  ],
];

describe.each(Object.keys(proxies))(
  'GW-01 a gateway proxying with %s and installGlobal',
  (proxy) => {
    it.each(ROWS)('GW-01 %s', async (_name, trust, path, headers, expected) => {
      const gw = await gateway(
        proxy,
        trust === 'signed' ? { trust, keys: { k1: KEY } } : { trust },
      );
      const res = await fetch(`${gw.url}${path}`, { headers: headers() });
      expect(res.status).toBe(200);
      const decided = /version=([a-z]+)/.exec(res.headers.get('x-gray-decision') ?? '')?.[1];
      expect(decided).toBe(expected);
      const echo = (await res.json()) as Echo;
      const seen = markersSeen(echo);
      // The decided version reaches the upstream (injected or kept), exactly once on the header,
      // and no carrier says anything else.
      expect(seen).toContain(`header:${expected}`);
      for (const m of seen)
        expect(m.split(':')[1], `${m} in ${JSON.stringify(seen)}`).toBe(expected);
      // The app's own data travels on untouched.
      if (/a=1/.test(JSON.stringify(headers())) || path.includes('a=1'))
        expect(JSON.stringify(echo)).toMatch(/a=1/);
    });
  },
);

describe('GW-02 edge mode: no client carrier is visible to the app or to any proxy', () => {
  const sent = {
    'x-gray-id': 'beta',
    cookie: 'a=1; gray=beta; __Host-gray=canary; b=2',
    baggage: 'k=v,gray=beta,z=1',
  };
  const path = '/p?x=1&gray=beta&y=2';

  /** What each app sees, normalised to one shape. */
  interface Seen {
    header: unknown;
    cookie: unknown;
    baggage: unknown;
    url: unknown;
    query: unknown;
    raw?: unknown;
    /** `req.headersDistinct` (Node's getter threw after an edit, or kept a value read before). */
    distinct?: Record<string, string[] | undefined>;
  }
  const apps: Record<string, (o: Partial<LayerOptions>) => Promise<Listening>> = {
    'node:http': async (o) => {
      const gray = createGraylane({ config: CONFIG, trust: 'edge', ...o });
      return listen(
        http.createServer((req, res) =>
          gray.handle(req, res, () =>
            res.end(
              JSON.stringify({
                header: req.headers['x-gray-id'] ?? null,
                cookie: req.headers.cookie ?? null,
                baggage: req.headers.baggage ?? null,
                url: req.url,
                query: new URLSearchParams(req.url?.split('?')[1]).getAll('gray'),
                raw: req.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
                distinct: { ...req.headersDistinct },
              } satisfies Seen),
            ),
          ),
        ),
      );
    },
    express: async (o) => {
      const app = express();
      app.use(graylaneExpress({ config: CONFIG, trust: 'edge', ...o }));
      app.use((req, res) => {
        res.json({
          header: req.get('x-gray-id') ?? null,
          cookie: req.get('cookie') ?? null,
          baggage: req.get('baggage') ?? null,
          url: req.originalUrl,
          query: req.query['gray'] ?? [],
          distinct: { ...req.headersDistinct },
        } satisfies Seen);
      });
      return listen(http.createServer(app));
    },
    koa: async (o) => {
      const app = new Koa();
      app.use(graylaneKoa({ config: CONFIG, trust: 'edge', ...o }));
      app.use((ctx) => {
        ctx.body = {
          header: ctx.get('x-gray-id') || null,
          cookie: ctx.get('cookie') || null,
          baggage: ctx.get('baggage') || null,
          url: ctx.url,
          query: ctx.query['gray'] ?? [],
          distinct: { ...ctx.req.headersDistinct },
        } satisfies Seen;
      });
      return listen(http.createServer(app.callback()));
    },
    fastify: async (o) => {
      const app = Fastify();
      await app.register(graylaneFastify, { config: CONFIG, trust: 'edge', ...o });
      app.get('/*', async (request) => ({
        header: request.headers['x-gray-id'] ?? null,
        cookie: request.headers.cookie ?? null,
        baggage: request.headers.baggage ?? null,
        url: request.url,
        query: (request.query as Record<string, unknown>)['gray'] ?? [],
        distinct: { ...request.raw.headersDistinct },
      }));
      await app.ready();
      return listen(app.server);
    },
    'hono (@hono/node-server)': async (o) => {
      const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
      app.use(graylaneHono({ config: CONFIG, trust: 'edge', ...o }));
      app.get('/*', (c) =>
        c.json({
          header: c.req.header('x-gray-id') ?? null,
          cookie: c.req.header('cookie') ?? null,
          baggage: c.req.header('baggage') ?? null,
          url: new URL(c.req.url).pathname + new URL(c.req.url).search,
          query: c.req.queries('gray') ?? [],
          raw: c.env.incoming.rawHeaders.filter((_, i) => i % 2 === 0).map((h) => h.toLowerCase()),
        }),
      );
      return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
    },
  };
  const settings: [string, Partial<LayerOptions>][] = [
    ['defaults (query marker not read)', {}],
    ['query marker read', { markers: { query: 'gray' } }],
    ['baggage off', { markers: { baggage: false } }],
  ];
  const rows = Object.keys(apps).flatMap((app) => settings.map(([s, o]) => [app, s, o] as const));

  it.each(rows)('GW-02 %s, %s', async (app, _s, o) => {
    const s = await (apps[app] as (o: Partial<LayerOptions>) => Promise<Listening>)(o);
    const seen = (await (await fetch(`${s.url}${path}`, { headers: sent })).json()) as Seen;
    expect(seen.header).toBeNull();
    expect(seen.cookie).toBe('a=1; b=2');
    expect(seen.baggage).toBe('k=v,z=1');
    expect(seen.url).toBe('/p?x=1&y=2');
    expect(seen.query).toEqual([]);
    if (seen.raw !== undefined) expect(seen.raw).not.toContain('x-gray-id');
    if (seen.distinct !== undefined) {
      expect(seen.distinct['x-gray-id']).toBeUndefined();
      expect(seen.distinct['cookie']).toEqual(['a=1; b=2']);
      expect(seen.distinct['baggage']).toEqual(['k=v,z=1']);
    }
  });

  it('GW-02 edge behind http-proxy-middleware: the upstream gets the decided version only', async () => {
    const gw = await gateway('http-proxy-middleware', { trust: 'edge' });
    const res = await fetch(`${gw.url}${path}`, { headers: sent });
    const echo = (await res.json()) as Echo;
    const seen = markersSeen(echo);
    expect(seen).toContain('header:stable');
    for (const m of seen) expect(m.split(':')[1]).toBe('stable');
    expect(echo.headers.cookie).toBe('a=1; b=2');
    expect(String(echo.headers.baggage)).not.toMatch(/gray=beta/);
    expect(echo.url).toBe('/p?x=1&y=2');
  });

  it('GW-02 a peer in trustedProxies keeps its markers (edge acts as open for it)', async () => {
    const s = await apps['node:http']!({ trustedProxies: ['127.0.0.0/8', '::1'] });
    const seen = (await (
      await fetch(`${s.url}/p?x=1`, { headers: { 'x-gray-id': 'beta' } })
    ).json()) as Seen;
    expect(seen.header).toBe('beta');
  });
});
