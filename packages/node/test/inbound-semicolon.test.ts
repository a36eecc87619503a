import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { getGrayDecision } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { withoutPathParameters } from '../src/inbound/carrier.js';
import { closeAll, listen, rawRequest, type Running } from './helpers.js';

/**
 * REQ-03, the `;` spelling: fastify's router ends a path at `;` when `useSemicolonDelimiter` is
 * on (fastify 4's default; an option in fastify 5, top-level or in `routerOptions`), so
 * `/admin;jsessionid=1` is served by the `/admin` route. A `/admin` pin must hold for it. The
 * invariant is checked against what each router really does: whenever a request is served by
 * the `/admin` route, the pin decided it; requests served elsewhere are not asserted. What the
 * router takes for the query after the `;` (`/admin;gray=beta` is `/admin?gray=beta` there, and
 * the route's `request.query.gray` is `beta`) is read as the query: a marker there decides, as it
 * does for `/admin?gray=beta`.
 */
afterAll(closeAll);

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'pin', version: 'stable', match: { path: { equals: '/admin' } } },
    { id: 'rest', split: [{ version: 'beta', weight: 100 }], bucketBy: 'header:x-user' },
  ],
};
const seen = (route: string) => ({
  route,
  ruleId: getGrayDecision()?.ruleId ?? 'none',
  source: getGrayDecision()?.source,
});

type App = () => Promise<Running>;
const fastifyApp =
  (options: FastifyServerOptions): App =>
  async () => {
    const app = Fastify(options);
    await app.register(graylaneFastify, { config });
    app.get('/admin', async () => seen('admin'));
    app.get('/*', async () => seen('other'));
    await app.ready();
    return listen(app.server);
  };
/** fastify 5 honours `routerOptions.useSemicolonDelimiter`; its types do not list it yet. */
const router = (o: { useSemicolonDelimiter: boolean }) =>
  o as NonNullable<FastifyServerOptions['routerOptions']>;
const APPS: Record<string, App> = {
  'fastify (default)': fastifyApp({}),
  'fastify useSemicolonDelimiter': fastifyApp({ useSemicolonDelimiter: true }),
  'fastify routerOptions.useSemicolonDelimiter': fastifyApp({
    routerOptions: router({ useSemicolonDelimiter: true }),
  }),
  'fastify useSemicolonDelimiter + other routerOptions': fastifyApp({
    useSemicolonDelimiter: true,
    routerOptions: { ignoreTrailingSlash: true },
  }),
  'fastify useSemicolonDelimiter: false': fastifyApp({ useSemicolonDelimiter: false }),
  'fastify top-level true, routerOptions false': fastifyApp({
    useSemicolonDelimiter: true,
    routerOptions: router({ useSemicolonDelimiter: false }),
  }),
  express: async () => {
    const app = express();
    app.use(graylaneExpress({ config }));
    app.get('/admin', (_req, res) => void res.json(seen('admin')));
    app.use((_req, res) => void res.json(seen('other')));
    return listen(http.createServer(app));
  },
  koa: async () => {
    const app = new Koa();
    app.use(graylaneKoa({ config }));
    app.use((ctx) => {
      ctx.body = seen(ctx.path === '/admin' ? 'admin' : 'other');
    });
    return listen(http.createServer(app.callback()));
  },
  hono: async () => {
    const app = new Hono();
    app.use(graylaneHono({ config }));
    app.get('/admin', (c) => c.json(seen('admin')));
    app.get('/*', (c) => c.json(seen('other')));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

const TARGETS = [
  '/admin',
  '/admin;',
  '/admin;jsessionid=1',
  '/admin;gray=beta',
  '/admin;a=1;b=2',
  '/admin;x=1?y=2',
  '/admin;x=1#f',
  '/admin;x?gray_like=beta',
  '/%61dmin;x',
  '/x/../admin;x',
  '/admin;x/y',
  '/other;admin',
];

const running = new Map<string, Promise<Running>>();
const app = (name: string) => {
  let r = running.get(name);
  if (r === undefined) running.set(name, (r = (APPS[name] as App)()));
  return r;
};

describe('REQ-03 a path a router ends at `;` is matched as that router routes it', () => {
  const ask = async (name: string, target: string) => {
    const raw = await rawRequest(
      (await app(name)).port,
      `GET ${target} HTTP/1.1\r\nHost: a\r\nX-User: u1\r\nConnection: close\r\n\r\n`,
    );
    if (!raw.startsWith('HTTP/1.1 200')) return raw.slice(9, 12); // served by nobody
    return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { route: string; ruleId: string };
  };
  const rows = Object.keys(APPS).flatMap((name) => TARGETS.map((t) => [name, t] as const));
  let servedByAdmin = 0;
  it.each(rows)(
    'REQ-03 %s: GET %s, if served by /admin, is decided by the /admin pin (or the marker its query holds)',
    async (name, target) => {
      const got = await ask(name, target);
      if (typeof got === 'string' || got.route !== 'admin') return;
      servedByAdmin++;
      if (/;gray=/.test(target)) expect(got).toMatchObject({ ruleId: 'none', source: 'query' });
      else expect(got.ruleId).toBe('pin');
    },
  );

  // Where the router does not end the path at `;`, neither do the rules: `/admin;x` is a path
  // of its own there, which the pin does not name.
  it.each(['fastify (default)', 'fastify useSemicolonDelimiter: false', 'express', 'koa', 'hono'])(
    'REQ-03 %s: GET /admin;x is not taken for /admin',
    async (name) => {
      expect(await ask(name, '/admin;x')).toMatchObject({ route: 'other', ruleId: 'rest' });
    },
  );

  // The premise: the semicolon apps serve `/admin;x` on /admin (else the rows prove nothing).
  it('REQ-03 premise: fastify with the delimiter on serves `/admin;x` on /admin, the others do not', async () => {
    const routes = await Promise.all(
      Object.keys(APPS).map(async (n) => {
        const got = await ask(n, '/admin;x');
        return [n, typeof got === 'string' ? got : got.route] as const;
      }),
    );
    expect(Object.fromEntries(routes)).toEqual({
      'fastify (default)': 'other',
      'fastify useSemicolonDelimiter': 'admin',
      'fastify routerOptions.useSemicolonDelimiter': 'admin',
      'fastify useSemicolonDelimiter + other routerOptions': 'admin',
      'fastify useSemicolonDelimiter: false': 'other',
      'fastify top-level true, routerOptions false': 'other',
      express: 'other',
      koa: 'other',
      hono: 'other',
    });
    expect(servedByAdmin).toBeGreaterThan(Object.keys(APPS).length);
  });
});

describe('withoutPathParameters', () => {
  it.each([
    ['/admin', '/admin'],
    ['/admin;x', '/admin'],
    ['/admin;', '/admin'],
    ['/admin;x=1?y=2', '/admin?y=2'],
    ['/admin;x=1?y=2;z', '/admin?y=2;z'],
    ['/a?b;c', '/a?b;c'],
    ['/a;b/c;d?e', '/a?e'],
    ['/a#x;y', '/a#x;y'],
    [';', ''],
  ])('%j → %j', (url, expected) => {
    expect(withoutPathParameters(url)).toBe(expected);
  });
});
