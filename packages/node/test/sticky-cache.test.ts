// STK-06 (review 57 D1): a response that carries graylane's sticky cookies is never storable by a
// shared cache. RFC 9111 §3: `Set-Cookie` does not stop a CDN from storing a response; one that
// honoured `public` / `s-maxage` would hand one visitor's `gray_uid` (so one lane) to every new
// visitor. Every Cache-Control shape × every way an app sets it (before graylane's cookie or
// after, setHeader / writeHead object / raw list, express `res.set` and `express.static`, koa
// `ctx.set`, fastify `reply.header`, hono `c.header`, a returned `Response`, an outer
// middleware) on real node:http, express, koa, fastify and hono (@hono/node-server) on
// loopback. A returning visitor (no cookie written) gets the header exactly as the app set it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { createGraylane } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, listen } from './helpers.js';

afterAll(closeAll);

const options = {
  config: {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'half',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        bucketBy: 'cookie:gray_uid',
      },
    ],
  },
  sticky: true,
} as const;

/** A returning visitor: both sticky cookies, so graylane writes none. */
const RETURNING = 'gray_uid=00000000-0000-4000-8000-000000000001; gray=stable';

/** [name, header lines the app sets (none: no header), what a first visit must get]. */
const SHAPES: readonly (readonly [string, readonly string[], string])[] = [
  ['absent', [], 'private'],
  ['public', ['public'], 'private'],
  ['public, max-age', ['public, max-age=60'], 'private, max-age=60'],
  ['s-maxage (Next static)', ['s-maxage=31536000'], 'private'],
  [
    's-maxage, stale-while-revalidate (ISR)',
    ['s-maxage=60, stale-while-revalidate=30'],
    'private, stale-while-revalidate=30',
  ],
  ['proxy-revalidate', ['max-age=60, s-maxage=600, proxy-revalidate'], 'private, max-age=60'],
  [
    'public immutable',
    ['public, max-age=31536000, immutable'],
    'private, max-age=31536000, immutable',
  ],
  ['private', ['private'], 'private'],
  ['private, max-age', ['private, max-age=60'], 'private, max-age=60'],
  ['qualified private', ['private="set-cookie", max-age=60'], 'private, max-age=60'],
  ['no-store', ['no-store'], 'no-store'],
  ['public, no-store', ['public, no-store'], 'public, no-store'],
  ['no-cache', ['no-cache'], 'private, no-cache'],
  ['max-age only', ['max-age=60'], 'private, max-age=60'],
  ['duplicated lines', ['public, max-age=60', 's-maxage=600'], 'private, max-age=60'],
  ['odd casing', ['PUBLIC, Max-Age=60, S-MaxAge=600'], 'private, Max-Age=60'],
  ['odd casing, private', ['Private, MAX-AGE=5'], 'Private, MAX-AGE=5'],
];

/**
 * STK-06, RFC 9213: targeted fields a CDN reads instead of Cache-Control, set next to
 * `public, max-age=60`. [name, fields the app sets]: every targeted one a first visit must get
 * as `no-store` (one already `no-store` stays), `Surrogate-Key` (not a control field) untouched.
 */
const TARGETED_SHAPES: readonly (readonly [string, readonly (readonly [string, string])[]])[] = [
  ['CDN-Cache-Control', [['CDN-Cache-Control', 'max-age=3600']]],
  [
    'lower-case cdn-cache-control, Surrogate-Control',
    [
      ['cdn-cache-control', 'public, s-maxage=600'],
      ['Surrogate-Control', 'max-age=86400, stale-while-revalidate=60'],
      ['Surrogate-Key', 'page'],
    ],
  ],
  [
    'Cloudflare-, VERCEL-, Netlify- CDN-Cache-Control',
    [
      ['Cloudflare-CDN-Cache-Control', 'public, s-maxage=600'],
      ['VERCEL-CDN-CACHE-CONTROL', 's-maxage=60'],
      ['Netlify-Cdn-Cache-Control', 'public, durable, s-maxage=60'],
    ],
  ],
  [
    'Edge-Control !no-store, any *-CDN-Cache-Control, one already no-store',
    [
      ['Edge-Control', '!no-store, max-age=3600'],
      ['Example-CDN-Cache-Control', 'max-age=60'],
      ['SURROGATE-CONTROL', 'no-store'],
    ],
  ],
];

/** What a first visit gets for a targeted shape's field. */
const firstOf = (name: string, value: string) => (name === 'Surrogate-Key' ? value : 'no-store');

/** Lines as a client reads them (`Headers.get` joins them); absent is null. */
const joined = (lines: readonly string[]) => (lines.length === 0 ? null : lines.join(', '));

type Fw = 'node' | 'express' | 'koa' | 'fastify' | 'hono';
/** How the app sets the header: `(lines, holder)`; each API gets the holder it takes. */
type Way = readonly [name: string, fw: Fw, when: 'before' | 'after'];

const WAYS: readonly Way[] = [
  ['res.setHeader in the handler', 'node', 'after'],
  ['res.setHeader before graylane.handle', 'node', 'before'],
  ['res.writeHead(status, object)', 'node', 'after'],
  ['res.writeHead(status, reason, raw list)', 'node', 'after'],
  ['res.appendHeader per line', 'node', 'after'],
  ['express res.set', 'express', 'after'],
  ['express middleware before graylane', 'express', 'before'],
  ['express res.writeHead(status, raw list)', 'express', 'after'],
  ['koa ctx.set', 'koa', 'after'],
  ['koa middleware before graylane', 'koa', 'before'],
  ['fastify reply.header', 'fastify', 'after'],
  ['fastify onRequest hook before graylane', 'fastify', 'before'],
  ['fastify reply.headers object', 'fastify', 'after'],
  ['hono c.header', 'hono', 'after'],
  ['hono middleware before graylane', 'hono', 'before'],
  ['hono returned Response', 'hono', 'after'],
  ['hono outer middleware after next()', 'hono', 'after'],
];

const way = (url: string | undefined) => decodeURIComponent(/[?&]way=([^&]*)/.exec(url ?? '')![1]!);
const linesOf = (url: string | undefined): string[] =>
  JSON.parse(decodeURIComponent(/[?&]cc=([^&]*)/.exec(url ?? '')![1]!)) as string[];
/** [name, lines] of every field the app sets: Cache-Control (when any) and the targeted ones. */
type Fields = readonly (readonly [string, readonly string[]])[];
const fieldsOf = (url: string | undefined): Fields => {
  const lines = linesOf(url);
  const tf = /[?&]tf=([^&]*)/.exec(url ?? '');
  const targeted = tf ? (JSON.parse(decodeURIComponent(tf[1]!)) as [string, string][]) : [];
  return [
    ...(lines.length > 0 ? [['Cache-Control', lines] as const] : []),
    ...targeted.map(([n, v]) => [n, [v]] as const),
  ];
};
const one = (lines: readonly string[]) => (lines.length > 1 ? [...lines] : lines[0]!);

function nodeSet(res: ServerResponse, fields: Fields, w: string): void {
  if (fields.length === 0) return void res.end('x');
  if (w.includes('writeHead(status, object)'))
    return void res
      .writeHead(200, Object.fromEntries(fields.map(([n, lines]) => [n, one(lines)])))
      .end('x');
  if (w.includes('raw list')) {
    const list = fields.flatMap(([n, lines]) => lines.flatMap((l) => [n.toLowerCase(), l]));
    return void res.writeHead(200, 'OK', ['content-type', 'text/plain', ...list]).end('x');
  }
  for (const [n, lines] of fields)
    if (w.includes('appendHeader')) for (const l of lines) res.appendHeader(n, l);
    else res.setHeader(n, one(lines));
  res.end('x');
}

async function serve(fw: Fw, gray: boolean): Promise<string> {
  if (fw === 'node') {
    const g = createGraylane(options);
    return (
      await listen(
        http.createServer((req: IncomingMessage, res: ServerResponse) => {
          const w = way(req.url);
          const fields = fieldsOf(req.url);
          if (w.includes('before')) {
            for (const [n, lines] of fields) res.setHeader(n, [...lines]);
            const end = () => void res.end('x');
            return gray ? g.handle(req, res, end) : end();
          }
          if (gray) g.handle(req, res, () => nodeSet(res, fields, w));
          else nodeSet(res, fields, w);
        }),
      )
    ).url;
  }
  if (fw === 'express') {
    const app = express();
    app.use((req, res, next) => {
      if (way(req.url).includes('before'))
        for (const [n, lines] of fieldsOf(req.url)) res.set(n, [...lines]);
      next();
    });
    if (gray) app.use(graylaneExpress(options));
    app.get('/r', (req, res) => {
      const fields = fieldsOf(req.url);
      const w = way(req.url);
      if (w.includes('raw list') || fields.length === 0 || w.includes('before'))
        return nodeSet(res, w.includes('before') ? [] : fields, w);
      for (const [n, lines] of fields) res.set(n, one(lines));
      res.send('x');
    });
    return (await listen(http.createServer(app))).url;
  }
  if (fw === 'koa') {
    const app = new Koa();
    app.use((ctx, next) => {
      if (way(ctx.url).includes('before'))
        for (const [n, lines] of fieldsOf(ctx.url)) ctx.set(n, [...lines]);
      return next();
    });
    if (gray) app.use(graylaneKoa(options));
    app.use((ctx) => {
      if (!way(ctx.url).includes('before'))
        for (const [n, lines] of fieldsOf(ctx.url)) ctx.set(n, one(lines));
      ctx.body = 'x';
    });
    return (await listen(http.createServer(app.callback()))).url;
  }
  if (fw === 'fastify') {
    const app = Fastify();
    app.addHook('onRequest', (req, reply, done) => {
      if (way(req.url).includes('before'))
        for (const [n, lines] of fieldsOf(req.url)) void reply.header(n, lines.join(', '));
      done();
    });
    if (gray) await app.register(graylaneFastify, options);
    app.get('/r', (req, reply) => {
      const fields = fieldsOf(req.url);
      const w = way(req.url);
      if (!w.includes('before')) {
        // fastify joins a list for any header but Set-Cookie; both APIs take the lines joined.
        if (w.includes('object'))
          void reply.headers(
            Object.fromEntries(fields.map(([n, lines]) => [n.toLowerCase(), lines.join(', ')])),
          );
        else for (const [n, lines] of fields) void reply.header(n, lines.join(', '));
      }
      return reply.send('x');
    });
    await app.ready();
    return (await listen(app.server)).url;
  }
  const app = new Hono();
  const set = (c: Context, fields: Fields) => {
    for (const [n, lines] of fields) lines.forEach((l, i) => c.header(n, l, { append: i > 0 }));
  };
  const outer: MiddlewareHandler = async (c, next) => {
    const w = way(c.req.url);
    if (w.includes('before')) set(c, fieldsOf(c.req.url));
    await next();
    if (w.includes('outer'))
      for (const [n, lines] of fieldsOf(c.req.url)) {
        c.res.headers.delete(n);
        for (const l of lines) c.res.headers.append(n, l);
      }
  };
  app.use(outer);
  if (gray) app.use(graylaneHono(options));
  app.get('/r', (c) => {
    const w = way(c.req.url);
    const fields = fieldsOf(c.req.url);
    if (w.includes('Response')) {
      const headers = new Headers();
      for (const [n, lines] of fields) for (const l of lines) headers.append(n, l);
      return new Response('x', { headers });
    }
    if (w === 'hono c.header') set(c, fields);
    return c.text('x');
  });
  return (await listen(createAdaptorServer({ fetch: app.fetch }) as http.Server)).url;
}

async function visit(url: string, cookie?: string, names: readonly string[] = []) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {} });
  await res.arrayBuffer();
  const ours = res.headers
    .getSetCookie()
    .filter((v) => v.startsWith('gray_uid=') || v.startsWith('gray='));
  const fields = names.map((n) => res.headers.get(n));
  return { cc: res.headers.get('cache-control'), ours: ours.length, status: res.status, fields };
}

const FRAMEWORKS: readonly Fw[] = ['node', 'express', 'koa', 'fastify', 'hono'];

describe('STK-06 a response with graylane’s sticky cookies is never stored by a shared cache', () => {
  const urls = {} as Record<Fw, { gray: string; bare: string }>;
  beforeAll(async () => {
    for (const fw of FRAMEWORKS)
      urls[fw] = { gray: await serve(fw, true), bare: await serve(fw, false) };
  });

  const rows = WAYS.flatMap(([name, fw, when]) =>
    SHAPES.map(([shape, lines, first]) => ({ name, fw, when, shape, lines, first })),
  );
  it.each(rows)(
    'STK-06 $fw, $name ($when the cookie): $shape',
    async ({ name, fw, lines, first }) => {
      const q = `/r?way=${encodeURIComponent(name)}&cc=${encodeURIComponent(JSON.stringify(lines))}`;
      const bare = await visit(urls[fw].bare + q);
      // Node (20, and 22 after an early setHeader such as express's X-Powered-By) keeps only the
      // last of a raw list's duplicates: that is the app's own header, which a returning visitor gets.
      if (!(name.includes('raw list') && lines.length > 1)) expect(bare.cc).toBe(joined(lines));
      const fresh = await visit(urls[fw].gray + q);
      expect(fresh.ours, 'a new visitor gets both sticky cookies').toBe(2);
      expect(fresh.cc).toBe(first);
      // A returning visitor: no cookie written, the header exactly as without graylane.
      const back = await visit(urls[fw].gray + q, RETURNING);
      expect([back.ours, back.cc, back.status]).toEqual([0, bare.cc, bare.status]);
    },
  );

  // RFC 9213: a CDN reads its targeted field instead of the private Cache-Control.
  const targetedRows = WAYS.flatMap(([name, fw, when]) =>
    TARGETED_SHAPES.map(([shape, fields]) => ({ name, fw, when, shape, fields })),
  );
  it.each(targetedRows)(
    'STK-06 $fw, $name ($when the cookie): targeted $shape',
    async ({ name, fw, fields }) => {
      const cc = JSON.stringify(['public, max-age=60']);
      const q = `/r?way=${encodeURIComponent(name)}&cc=${encodeURIComponent(cc)}&tf=${encodeURIComponent(JSON.stringify(fields))}`;
      const names = fields.map(([n]) => n);
      const set = fields.map(([, v]) => v);
      const bare = await visit(urls[fw].bare + q, undefined, names);
      expect([bare.cc, bare.fields]).toEqual(['public, max-age=60', set]);
      const fresh = await visit(urls[fw].gray + q, undefined, names);
      expect([fresh.ours, fresh.cc]).toEqual([2, 'private, max-age=60']);
      expect(fresh.fields).toEqual(fields.map(([n, v]) => firstOf(n, v)));
      const back = await visit(urls[fw].gray + q, RETURNING, names);
      expect([back.ours, back.cc, back.fields]).toEqual([0, bare.cc, set]);
    },
  );
});

describe('STK-06 express.static: a file served to a new visitor is private', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-stk06-'));
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  });
  // `setHeaders` is how an app gives static files a CDN lifetime (RFC 9213 targeted field).
  const setHeaders = (res: ServerResponse) => {
    res.setHeader('CDN-Cache-Control', 'max-age=31536000');
    res.setHeader('surrogate-control', 'max-age=31536000');
  };
  const ROWS: readonly (readonly [
    string,
    Parameters<typeof express.static>[1],
    string | null,
    string,
  ])[] = [
    [
      'setHeaders CDN-Cache-Control, Surrogate-Control',
      { maxAge: 86_400_000, setHeaders },
      'public, max-age=86400',
      'private, max-age=86400',
    ],
    ['defaults (public, max-age=0)', {}, 'public, max-age=0', 'private, max-age=0'],
    ['maxAge 1d', { maxAge: 86_400_000 }, 'public, max-age=86400', 'private, max-age=86400'],
    [
      'immutable',
      { maxAge: 31_536_000_000, immutable: true },
      'public, max-age=31536000, immutable',
      'private, max-age=31536000, immutable',
    ],
    // No Cache-Control, but Last-Modified: a shared cache may store it heuristically.
    ['cacheControl: false', { cacheControl: false }, null, 'private'],
  ];
  it.each(ROWS)('STK-06 express.static %s', async (_name, opts, plain, first) => {
    const make = async (gray: boolean) => {
      const app = express();
      if (gray) app.use(graylaneExpress(options));
      app.use(express.static(dir, opts));
      return (await listen(http.createServer(app))).url;
    };
    const [withGray, bare] = [await make(true), await make(false)];
    const names = ['cdn-cache-control', 'surrogate-control'];
    const own = opts?.setHeaders ? ['max-age=31536000', 'max-age=31536000'] : [null, null];
    const plainSeen = await visit(`${bare}/app.js`, undefined, names);
    expect([plainSeen.cc, plainSeen.fields]).toEqual([plain, own]);
    const fresh = await visit(`${withGray}/app.js`, undefined, names);
    expect([fresh.ours, fresh.cc]).toEqual([2, first]);
    expect(fresh.fields).toEqual(own.map((v) => (v === null ? null : 'no-store')));
    const back = await visit(`${withGray}/app.js`, RETURNING, names);
    expect([back.ours, back.cc, back.fields]).toEqual([0, plain, own]);
  });
});
