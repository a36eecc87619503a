import http from 'node:http';
import replyFrom from '@fastify/reply-from';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createProxyMiddleware } from 'http-proxy-middleware';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { closeAll, listen, rawRequest } from './helpers.js';

/**
 * GW-02 (review 81 D3): in `edge` mode graylane removes the query marker wherever a reader could
 * find it, a `#` included (core's `routerTarget`), but wrote the target back in that reading, so
 * every `#` became `&`: `/p?gray=beta#&admin=1` reached express as `/p?&admin=1` (`req.query`
 * `{ admin: '1' }`, where without graylane it read `{ gray: 'beta' }` and `admin` stayed in a
 * fragment nobody reads), `/p#gray=beta&admin=1` as `/p?admin=1`, and a proxy in the app sent
 * `/p?a=1&gray=beta#x` upstream as `/p?a=1&x`.
 *
 * Every row sends each spelling of the marker in one target shape on a raw socket (a `#` as
 * written) to the same app without graylane and with it in `edge` mode, and reads what the app
 * has (its own parsed query, and each URL it holds read by the WHATWG `URL`, by find-my-way's
 * rule — the query from the first `?` or `#` — and by a proxy that splits at the first `?`), or
 * what an upstream behind a proxy in the app received. With graylane, no reader finds the
 * marker, and none finds a parameter (key and value) it did not find without graylane.
 */
const config = { versions: ['stable', 'beta'], default: 'stable' };
const edge = { config, trust: 'edge' as const };

/** `key=value` pairs, decoded, one per value (arrays and qs objects flattened to JSON). */
type Readings = Record<string, string[]>;

const pairs = (params: URLSearchParams) => [...params].map(([k, v]) => `${k}=${v}`);
/** Reads one URL the app holds, three ways. */
function readUrl(label: string, url: string, into: Readings): void {
  const target = url.replace(/^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i, '');
  into[`${label} WHATWG`] = pairs(new URL(target, 'http://h').searchParams);
  const any = target.search(/[?#]/);
  // `&` first: URLSearchParams would drop a leading `?`, find-my-way does not.
  into[`${label} find-my-way`] =
    any === -1 ? [] : pairs(new URLSearchParams(`&${target.slice(any + 1)}`));
  const q = target.indexOf('?');
  into[`${label} first-? proxy`] = q === -1 ? [] : pairs(new URLSearchParams(target.slice(q + 1)));
}
function readObject(label: string, query: unknown, into: Readings): void {
  const out: string[] = [];
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>))
    for (const one of Array.isArray(v) ? v : [v])
      out.push(`${k}=${typeof one === 'string' ? one : JSON.stringify(one)}`);
  into[label] = out;
}

/** An upstream that reports how it reads the target it received. */
let upstream: { url: string; port: number };
const upstreamServer = () =>
  http.createServer((req, res) => {
    const into: Readings = {};
    readUrl('upstream', req.url ?? '', into);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(into));
  });

type App = (withGraylane: boolean) => Promise<http.Server>;
const APPS: Record<string, App> = {
  'express 5 (req.query, req.url, req.originalUrl)': async (g) => {
    const app = express();
    if (g) app.use(graylaneExpress(edge));
    app.get('/p', (req, res) => {
      const into: Readings = {};
      readObject('req.query', req.query, into);
      readUrl('req.url', req.url, into);
      readUrl('req.originalUrl', req.originalUrl, into);
      res.json(into);
    });
    return http.createServer(app);
  },
  'express 4 (qs), a router mounted at /m': async (g) => {
    const app = express4();
    if (g) app.use(graylaneExpress(edge));
    const router = express4.Router();
    router.get('/p', (req, res) => {
      const into: Readings = {};
      readObject('req.query', req.query, into);
      readUrl('req.url', req.url, into);
      readUrl('req.originalUrl', req.originalUrl, into);
      res.json(into);
    });
    app.use('/m', router);
    return http.createServer(app);
  },
  'koa (ctx.query, ctx.url, ctx.originalUrl, ctx.href)': async (g) => {
    const app = new Koa();
    if (g) app.use(graylaneKoa(edge));
    app.use((ctx) => {
      const into: Readings = {};
      readObject('ctx.query', ctx.query, into);
      readUrl('ctx.url', ctx.url, into);
      readUrl('ctx.originalUrl', ctx.originalUrl, into);
      readUrl('ctx.href', ctx.href, into);
      ctx.body = into;
    });
    return http.createServer(app.callback());
  },
  'fastify (request.query, request.url)': async (g) => {
    const app = Fastify();
    if (g) await app.register(graylaneFastify, edge);
    app.get('/p', (request) => {
      const into: Readings = {};
      readObject('request.query', request.query, into);
      readUrl('request.url', request.url, into);
      return into;
    });
    await app.ready();
    return app.server;
  },
  'hono on @hono/node-server (c.req.queries(), c.req.url)': async (g) => {
    const app = new Hono();
    if (g) app.use(graylaneHono(edge));
    app.get('/p', (c) => {
      const into: Readings = {};
      readObject('c.req.queries()', c.req.queries(), into);
      readUrl('c.req.url', c.req.url, into);
      return c.json(into);
    });
    return createAdaptorServer({ fetch: app.fetch }) as http.Server;
  },
  'express 5 + http-proxy-middleware (what the upstream receives)': async (g) => {
    const app = express();
    if (g) app.use(graylaneExpress(edge));
    app.use(createProxyMiddleware({ target: upstream.url }));
    return http.createServer(app);
  },
  'fastify + @fastify/reply-from (what the upstream receives)': async (g) => {
    const app = Fastify();
    if (g) await app.register(graylaneFastify, edge);
    await app.register(replyFrom, { base: upstream.url });
    app.get('/p', (request, reply) => reply.from(request.url));
    await app.ready();
    return app.server;
  },
};

/** Shapes: `M` is the marker parameter. */
const SHAPES = [
  '/p?M#&admin=1',
  '/p?M#frag',
  '/p?M#x&a=1',
  '/p?a=1&M#x',
  '/p?a=1&M#x&b=2',
  '/p?a=1&M&b=2#x',
  '/p?a=1#M',
  '/p?a=1#M&b=2',
  '/p?a=1#x&M',
  '/p?a=1#x&M&b=2',
  '/p?x=1#y?M&z=1',
  '/p#M',
  '/p#M&admin=1',
  '/p#a=1&M&b=2',
  '/p#x?M',
  '/p#?M&a=1',
  '/p#a&b?x=1&M',
  '/p#a#b?M',
  '/p#x&M?y=1',
  '/p?M#a#b&c=1',
  '/p?a=1#b#M&c=2',
  '/p??M&x=1',
  '/p??a=1&M#x',
  '/p?M&?x=1',
  '/p#x??M',
  '/p?a=x#y&M',
  '/p?next=/a?b=1&M#x',
  '/p?a=1?M#x',
  '/p?M&M#x&a=1',
  '/p?&&M&&a=1#&b',
  '/p?a=1&&M&#&b=2',
  '/p?M',
  '/p?a=1&M',
];
const SPELLINGS = ['gray=beta', 'GRAY=beta', 'gr%61y=beta', 'gray[]=beta'];

/** The marker under any reader's decoding: `gray`, `GRAY`, `gray[]`, `gray[x]` (qs: `gray`). */
const isMarker = (pair: string) => /^[ +]*gray(?:$|[[.=])/i.test(pair);

const running = new Map<string, { plain: number; gray: number }>();
beforeAll(async () => {
  upstream = await listen(upstreamServer());
  for (const [name, make] of Object.entries(APPS)) {
    const plain = await listen(await make(false));
    const gray = await listen(await make(true));
    running.set(name, { plain: plain.port, gray: gray.port });
  }
});
afterAll(closeAll);

async function read(port: number, target: string): Promise<{ status: string; seen: Readings }> {
  const raw = await rawRequest(
    port,
    `GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`,
    5_000,
  );
  const status = raw.slice(9, 12);
  return {
    status,
    seen: status === '200' ? JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) : {},
  };
}

/** What is wrong with what the app read with graylane, against what it read without. */
function problems(target: string, before: Readings, after: Readings): string[] {
  const out: string[] = [];
  for (const [reader, got] of Object.entries(after)) {
    const had = (before[reader] ?? []).filter((p) => !isMarker(p));
    for (const p of got) {
      if (isMarker(p)) out.push(`${target}: ${reader} still finds ${p}`);
      const i = had.indexOf(p);
      if (i === -1)
        out.push(`${target}: ${reader} finds ${JSON.stringify(p)}, not there without graylane`);
      else had.splice(i, 1);
    }
  }
  return out;
}

const ROWS = Object.keys(APPS).flatMap((app) => SHAPES.map((shape) => [app, shape] as const));

describe('GW-02 edge mode: no reader finds a parameter it would not find without graylane (review 81 D3)', () => {
  it.each(ROWS)('GW-02 %s: %s', async (app, shape) => {
    const ports = running.get(app) as { plain: number; gray: number };
    const prefix = app.includes('mounted at /m') ? '/m' : '';
    const found: string[] = [];
    let served = 0;
    for (const spelling of SPELLINGS)
      for (const origin of ['', 'http://h']) {
        const target = `${origin}${prefix}${shape.replaceAll('M', spelling)}`;
        const before = await read(ports.plain, target);
        const after = await read(ports.gray, target);
        // A target the app does not serve without graylane proves nothing; one it serves, it
        // serves with graylane too.
        if (before.status !== '200') continue;
        served++;
        if (after.status !== '200') found.push(`${target}: ${after.status} with graylane`);
        else found.push(...problems(target, before.seen, after.seen));
      }
    expect(found).toEqual([]);
    expect(served).toBeGreaterThan(0);
  });
});
