import http, { type IncomingMessage } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, type GraylaneOptions } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { graylaneHono } from '@graylane/node/hono';
import { closeAll, listen, type Listening } from './helpers.js';
import { markerIn } from './target-readings.js';

/**
 * GW-02 (RELIABILITY §10), across what the first table in gateway.test.ts holds fixed: every
 * request method (a body travels with most of them), every shape of request target a raw client
 * can send (a `#` in it included: Node accepts one, and fastify's router reads the query from the
 * first `?` or `#` while express, koa and the WHATWG `URL` end it at a `#`), and every view of
 * the URL each framework gives the app (koa copies the target into `ctx.originalUrl` before any
 * middleware runs; `@hono/node-server` fixes the `Request` URL the same way). A marker graylane
 * did not honour must be gone from all of them, under every parser, and the body must arrive.
 */
const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
type LayerOptions = Omit<GraylaneOptions, 'config' | 'attributes' | 'subject' | 'onDecision'>;

afterAll(closeAll);

/** What the app saw: every URL string it can read, the parsed marker, the body and the lane. */
interface Seen {
  urls: Record<string, string>;
  parsed: Record<string, unknown>;
  body: string;
  version: string;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

const apps: Record<string, (o: LayerOptions) => Promise<Listening>> = {
  'node:http': async (o) => {
    const gray = createGraylane({ config: CONFIG, ...o });
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, async () => {
          const seen: Seen = {
            urls: { 'req.url': req.url ?? '' },
            parsed: {},
            body: await readBody(req),
            version: getGrayVersion(),
          };
          res.end(JSON.stringify(seen));
        }),
      ),
    );
  },
  express: async (o) => {
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, ...o }));
    app.use(async (req, res) => {
      const seen: Seen = {
        urls: { 'req.url': req.url, 'req.originalUrl': req.originalUrl },
        parsed: { 'req.query.gray': (req.query as Record<string, unknown>)['gray'] ?? null },
        body: await readBody(req),
        version: getGrayVersion(),
      };
      res.json(seen);
    });
    return listen(http.createServer(app));
  },
  koa: async (o) => {
    const app = new Koa();
    // A middleware in front of graylane that reads the memoised `ctx.URL` first.
    app.use((ctx, next) => {
      void ctx.URL;
      return next();
    });
    app.use(graylaneKoa({ config: CONFIG, ...o }));
    app.use(async (ctx) => {
      const seen: Seen = {
        urls: {
          'ctx.url': ctx.url,
          'ctx.originalUrl': ctx.originalUrl,
          'ctx.request.originalUrl': ctx.request.originalUrl,
          'ctx.href': ctx.href,
          'ctx.URL': ctx.URL.href,
          'ctx.req.url': ctx.req.url ?? '',
        },
        parsed: {
          'ctx.query.gray': ctx.query['gray'] ?? null,
          "ctx.URL.searchParams.get('gray')": ctx.URL.searchParams.get('gray'),
        },
        body: await readBody(ctx.req),
        version: getGrayVersion(),
      };
      ctx.body = seen;
    });
    return listen(http.createServer(app.callback()));
  },
  fastify: async (o) => {
    const app = Fastify();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    await app.register(graylaneFastify, { config: CONFIG, ...o });
    app.all('/*', async (request) => {
      const seen: Seen = {
        urls: { 'request.url': request.url, 'request.raw.url': request.raw.url ?? '' },
        parsed: {
          'request.query.gray': (request.query as Record<string, unknown>)['gray'] ?? null,
        },
        body: typeof request.body === 'string' ? request.body : '',
        version: getGrayVersion(),
      };
      return seen;
    });
    await app.ready();
    return listen(app.server);
  },
  'hono (@hono/node-server)': async (o) => {
    const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
    app.use(graylaneHono({ config: CONFIG, ...o }));
    app.all('/*', async (c) => {
      const seen: Seen = {
        urls: { 'c.req.url': c.req.url, 'incoming.url': c.env.incoming.url ?? '' },
        parsed: {
          "c.req.query('gray')": c.req.query('gray') ?? null,
          "c.req.queries('gray')": c.req.queries('gray') ?? null,
        },
        body: await c.req.text(),
        version: getGrayVersion(),
      };
      return c.json(seen);
    });
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

/** Sends `method target` as written (a `#` included), with `body` when given. */
function send(port: number, method: string, target: string, body: string | undefined) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    if (body !== undefined) {
      headers['content-type'] = 'text/plain';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const METHODS: [string, string | undefined][] = [
  ['GET', undefined],
  ['OPTIONS', undefined],
  ['POST', 'payload: a=1&gray=beta'],
  ['PUT', 'put-body'],
  ['PATCH', '{"gray":"beta"}'],
  ['DELETE', 'delete-body'],
];
const TARGETS = [
  '/p?x=1&gray=beta&y=2',
  '/p?gray=beta',
  '/p?x=1&%67ray=beta',
  '/p?gray=beta#frag',
  '/p#gray=beta',
  '/p?x=1#&gray=beta',
  '/p?x=1&y=2#gray=beta',
  // A `#` before the `?`: a first-`?` reader (@fastify/reply-from) finds the marker there.
  '/p#x?gray=beta',
  '/p#?gray=beta',
  '/p#a&b?x=1&gray=beta',
  '/p?x=1#y?gray=beta&z=1',
  // Several `?`, escapes and `;`: no reader splits there, and nothing else may be lost.
  '/p?x=1&gray=beta?y=2',
  '/p??gray=beta&x=1',
  '/p%23q?x=1&gray=beta',
  '/p?x=%23&gray=beta',
  '/p?x=1;gray=beta',
  '/p;gray=beta?x=1&gray=beta',
];
const SETTINGS: [string, LayerOptions][] = [
  ['edge, query marker not read', { trust: 'edge' }],
  ['edge, query marker read', { trust: 'edge', markers: { query: 'gray' } }],
  ['signed, query marker read', { trust: 'signed', keys: { k1: KEY }, markers: { query: 'gray' } }],
];
const ROWS = Object.keys(apps).flatMap((app) => SETTINGS.map(([s, o]) => [app, s, o] as const));

describe('GW-02 every method, request target and view of the URL', () => {
  it.each(ROWS)('GW-02 %s, %s', async (app, _s, options) => {
    const s = await (apps[app] as (o: LayerOptions) => Promise<Listening>)(options);
    const problems: string[] = [];
    for (const [method, body] of METHODS)
      for (const target of TARGETS) {
        const at = `${method} ${target}`;
        const res = await send(s.port, method, target, body);
        if (res.status !== 200) {
          problems.push(`${at}: status ${res.status} ${res.text.slice(0, 120)}`);
          continue;
        }
        const seen = JSON.parse(res.text) as Seen;
        if (seen.version !== 'stable') problems.push(`${at}: served ${seen.version}`);
        if (seen.body !== (body ?? '')) problems.push(`${at}: body ${JSON.stringify(seen.body)}`);
        for (const [view, url] of Object.entries(seen.urls)) {
          for (const f of markerIn(url)) problems.push(`${at}: ${view}: ${f}`);
          // What is left of the target is the rest of it: the path and x/y are never lost.
          if (!url.includes('/p')) problems.push(`${at}: ${view} lost the path: ${url}`);
          if (target.includes('x=1') && !url.includes('x=1'))
            problems.push(`${at}: ${view} lost x=1: ${url}`);
        }
        for (const [view, value] of Object.entries(seen.parsed))
          if (value !== null && !(Array.isArray(value) && value.length === 0))
            problems.push(`${at}: ${view} = ${JSON.stringify(value)}`);
      }
    expect(problems).toEqual([]);
  });
});
