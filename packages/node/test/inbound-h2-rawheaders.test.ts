import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import mount from 'koa-mount';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { createGraylane, getGrayDecision, type GraylaneOptions } from '../src/index.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { selfSignedCert } from './outbound/servers.js';

/**
 * GW-02 over HTTP/2 (review 147 N1): node:http2's compat request keeps the target twice, as
 * `req.url` / `headers[':path']` and as the `:path` entry of `req.rawHeaders`. graylane edited the
 * first (the query marker removed, or rewritten) and left the second as the client sent it, so a
 * proxy forwarding `rawHeaders`, or anything rebuilding the request from them, still saw
 * `?gray=beta&GRAY=beta`. Now the `:path` entry gets the same edit. Each row is a real h2 client
 * against each adapter that runs over h2 (node:http's `handle`, koa, koa under koa-mount, fastify
 * with `http2: true`, hono on `@hono/node-server` with `http2.createServer`; h2c, and TLS for
 * node:http), in each trust mode; the handler reports what it sees and forwards `rawHeaders` to an
 * upstream h2 server that records the `:path` it received. Controls: targets graylane leaves as
 * they are.
 */

const KEY = 'k'.repeat(32);
const config = { versions: ['stable', 'beta'], default: 'stable' };
/** The options every adapter takes alike (the rest are typed per framework). */
type Options = Pick<GraylaneOptions, 'config' | 'trust' | 'keys'>;
const MODES: [Mode, Options][] = [
  ['open', { config }],
  ['edge', { config, trust: 'edge' }],
  ['signed', { config, trust: 'signed', keys: { k1: KEY } }],
];

/** What the handler saw, and what the upstream it forwarded `rawHeaders` to received. */
interface Seen {
  lane: string;
  url: string;
  /** `headers[':path']`. */
  path: string;
  raw: string[];
  /** The `:path` the upstream received. */
  forwarded: string;
}

/** The request object graylane edited, as each framework exposes it, and the prefix cut off. */
type Report = (req: http2.Http2ServerRequest, mountedAt?: string) => Promise<Seen>;

let upstream: http2.Http2Server;
let upstreamSession: http2.ClientHttp2Session;
let tls: { key: string; cert: string };

beforeAll(async () => {
  tls = selfSignedCert();
  upstream = http2.createServer();
  upstream.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(String(headers[':path']));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamSession = http2.connect(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
});
afterAll(async () => {
  upstreamSession.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** A proxy's forward: the request's `rawHeaders` (pseudo-headers but `:authority`), as sent. */
function forward(raw: readonly string[]): Promise<string> {
  const headers: http2.OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === ':authority' || name === ':scheme') continue;
    headers[name] = raw[i + 1]!;
  }
  return new Promise((resolve, reject) => {
    const r = upstreamSession.request(headers);
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => (body += d));
    r.on('end', () => resolve(body));
    r.on('error', reject);
    r.end();
  });
}

const report: Report = async (req) => ({
  lane: getGrayDecision()?.version ?? 'none',
  url: req.url,
  path: String(req.headers[':path']),
  raw: [...req.rawHeaders],
  forwarded: await forward(req.rawHeaders),
});

interface Served {
  readonly origin: string;
  /** The prefix the app strips before graylane runs (koa-mount), if any. */
  readonly mountedAt?: string;
  readonly secure?: boolean;
  close(): Promise<void>;
}

async function listen(
  server: http2.Http2Server | http2.Http2SecureServer,
  extra: { mountedAt?: string; secure?: boolean } = {},
): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  return {
    origin: `${extra.secure === true ? 'https' : 'http'}://127.0.0.1:${port}`,
    ...extra,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type App = (options: Options) => Promise<Served>;
const APPS: [string, App][] = [
  [
    'node:http handle (h2c)',
    (options) => {
      const g = createGraylane(options);
      return listen(
        http2.createServer((req, res) => {
          g.handle(req as never, res as never, () => {
            void report(req).then((s) => res.end(JSON.stringify(s)));
          });
        }),
      );
    },
  ],
  [
    'node:http handle (TLS h2)',
    (options) => {
      const g = createGraylane(options);
      return listen(
        http2.createSecureServer({ key: tls.key, cert: tls.cert }, (req, res) => {
          g.handle(req as never, res as never, () => {
            void report(req).then((s) => res.end(JSON.stringify(s)));
          });
        }),
        { secure: true },
      );
    },
  ],
  [
    'koa',
    (options) => {
      const app = new Koa();
      app.use(graylaneKoa(options));
      app.use(async (ctx) => {
        ctx.body = await report(ctx.req as unknown as http2.Http2ServerRequest);
      });
      return listen(http2.createServer(app.callback() as never));
    },
  ],
  [
    "koa, graylane in mount('/api', …)",
    (options) => {
      const sub = new Koa();
      sub.use(graylaneKoa(options));
      sub.use(async (ctx) => {
        ctx.body = await report(ctx.req as unknown as http2.Http2ServerRequest);
      });
      const app = new Koa();
      app.use(mount('/api', sub));
      return listen(http2.createServer(app.callback() as never), { mountedAt: '/api' });
    },
  ],
  [
    'fastify (http2: true)',
    async (options) => {
      const app = Fastify({ http2: true }) as unknown as FastifyInstance;
      await app.register(graylaneFastify, options);
      app.all('/*', (req) => report(req.raw as unknown as http2.Http2ServerRequest));
      await app.ready();
      const server = app.server as unknown as http2.Http2Server;
      return listen(server);
    },
  ],
  [
    'hono on @hono/node-server (http2.createServer)',
    (options) => {
      const app = new Hono<{ Bindings: { incoming: http2.Http2ServerRequest } }>();
      app.use(graylaneHono(options));
      app.all('*', async (c) => c.json(await report(c.env.incoming)));
      return listen(
        createAdaptorServer({
          fetch: app.fetch,
          createServer: http2.createServer,
        }) as unknown as http2.Http2Server,
      );
    },
  ],
];

type Mode = 'open' | 'edge' | 'signed';
const ALL: readonly Mode[] = ['open', 'edge', 'signed'];
/** Where graylane does not read the query marker, it removes it whatever it says. */
const UNREAD: readonly Mode[] = ['edge', 'signed'];

/**
 * Targets and header markers a client sends, and the modes in which graylane edits the target
 * (`open` keeps a query marker that says the decided version); in the other modes the row is a
 * control: the target is left as sent.
 */
const TARGETS: {
  name: string;
  path: string;
  headers?: http2.OutgoingHttpHeaders;
  edits: readonly Mode[];
}[] = [
  { name: 'gray and GRAY', path: '/a?gray=beta&GRAY=beta&x=1', edits: UNREAD },
  { name: 'gray alone', path: '/a?gray=beta', edits: UNREAD },
  { name: 'gray last', path: '/a?x=1&gray=beta', edits: UNREAD },
  { name: 'a doubled ?', path: '/a??gray=beta&x=1', edits: UNREAD },
  { name: 'a percent-escaped key', path: '/a?%67ray=beta&x=1', edits: UNREAD },
  { name: 'an unknown version', path: '/a?gray=zeta&x=1', edits: ALL },
  { name: 'an empty value and a repeat', path: '/a?gray=&gray=beta&x=1', edits: ALL },
  {
    name: 'with header, cookie and baggage markers',
    path: '/a?gray=beta&x=1',
    headers: { 'x-gray-id': 'beta', cookie: ['gray=beta', 'a=1'], baggage: 'gray=beta,k=v' },
    edits: UNREAD,
  },
  {
    name: 'a header marker that disagrees',
    path: '/a?gray=beta&x=1',
    headers: { 'x-gray-id': 'stable' },
    edits: ALL,
  },
  { name: 'no marker', path: '/a?x=1&grayish=1', edits: [] },
  { name: 'no query', path: '/a/b', edits: [] },
];

function h2Get(
  served: Served,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(served.origin, served.secure === true ? { ca: tls.cert } : {});
    client.on('error', reject);
    const r = client.request({ ':path': (served.mountedAt ?? '') + path, ...headers });
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (d: string) => (body += d));
    r.on('end', () => {
      client.close();
      try {
        resolve(JSON.parse(body) as Seen);
      } catch {
        reject(new Error(`not JSON: ${body}`));
      }
    });
    r.on('error', reject);
    r.end();
  });
}

/** The `:path` entries of a raw list. */
const rawPaths = (raw: readonly string[]): string[] =>
  raw.filter((_, i) => i % 2 === 1 && raw[i - 1] === ':path');

describe.each(APPS)('GW-02 over HTTP/2: %s', (_app, make) => {
  describe.each(MODES)('trust %s', (mode, options) => {
    let served: Served;
    beforeAll(async () => {
      served = await make(options);
    });
    afterAll(() => served.close());

    const rows = TARGETS.map(
      (t) => [`${t.edits.includes(mode) ? '' : 'control (left as sent): '}${t.name}`, t] as const,
    );
    it.each(rows)('GW-02 rawHeaders agree with the edited target: %s', async (_n, t) => {
      const seen = await h2Get(served, t.path, t.headers);
      const prefix = served.mountedAt ?? '';
      const paths = rawPaths(seen.raw);
      // Exactly one `:path`, the target the app routes on, with the mount prefix it cut off.
      expect(paths, 'rawHeaders :path').toEqual([prefix + seen.url]);
      expect(seen.path, "headers[':path']").toBe(seen.url);
      expect(seen.forwarded, 'what a proxy forwarding rawHeaders sends').toBe(prefix + seen.url);
      if (!t.edits.includes(mode)) {
        expect(seen.url, 'a control is left as sent').toBe(t.path);
        return;
      }
      expect(seen.url, 'graylane edited the target').not.toBe(t.path);
      // Where graylane does not read the query marker it is gone under every spelling.
      if (UNREAD.includes(mode))
        expect(paths[0], 'no gray parameter left').not.toMatch(/[?&](?:gray|%67ray)=/i);
      if (mode === 'edge')
        expect(
          seen.raw.filter(
            (v, i) =>
              i % 2 === 1 &&
              /^(x-gray-id|cookie|baggage)$/.test(seen.raw[i - 1]!) &&
              /gray=|^beta$/.test(v),
          ),
          'no header marker left in rawHeaders',
        ).toEqual([]);
    });
  });
});

/** The repro's own request, spelled out: what every adapter must show in edge mode. */
describe('GW-02 over HTTP/2: the review’s request in edge mode', () => {
  it.each(APPS)('GW-02 %s', async (_app, make) => {
    const served = await make({ config, trust: 'edge' });
    try {
      const seen = await h2Get(served, '/a?gray=beta&GRAY=beta&x=1', {
        'x-gray-id': 'beta',
        cookie: ['gray=beta', 'a=1'],
        baggage: 'gray=beta,k=v',
      });
      const prefix = served.mountedAt ?? '';
      expect(seen.url).toBe('/a?x=1');
      expect(rawPaths(seen.raw)).toEqual([`${prefix}/a?x=1`]);
      expect(seen.forwarded).toBe(`${prefix}/a?x=1`);
      expect(seen.lane).toBe('stable');
    } finally {
      await served.close();
    }
  });
});
