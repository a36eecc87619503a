import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import http2 from 'node:http2';
import express from 'express';
import Koa from 'koa';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { getGrayDecision, type GraylaneOptions } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, h2Json, listen, rawBody, rawRequest, type Running } from './helpers.js';

/**
 * REQ-01 (review 155 D2/D3): a `host` rule reads the host the framework reads — its own accessor
 * (express `req.hostname`, koa `ctx.host`, fastify `request.host`), so the app's trust-proxy
 * setting (`X-Forwarded-Host`) and its HTTP/2 preference (`Host` before `:authority` in fastify,
 * `:authority` first in koa) apply to the rules too. Oracle: the framework's hostname, per row.
 */
const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'beta-host', version: 'beta', match: { host: { equals: 'beta.shop.example' } } },
    { id: 'backend-host', version: 'canary', match: { host: { equals: 'backend' } } },
  ],
};
const options = { config } satisfies GraylaneOptions;
const RULES: Record<string, string> = { 'beta.shop.example': 'beta-host', backend: 'backend-host' };

interface Seen {
  ruleId?: string | undefined;
  host?: string | undefined;
}
const seen = (host: unknown): Seen => ({
  ruleId: getGrayDecision()?.ruleId,
  host: typeof host === 'string' ? host.replace(/:\d+$/, '').toLowerCase() : undefined,
});

type App = (proxy: boolean, h2: boolean) => Promise<Running>;
const apps: Record<string, App> = {
  express: async (proxy) => {
    const app = express();
    if (proxy) app.set('trust proxy', 'loopback');
    app.use(graylaneExpress(options));
    app.use((req, res) => {
      res.json(seen(req.hostname));
    });
    return listen(http.createServer(app));
  },
  koa: async (proxy, h2) => {
    const app = new Koa();
    app.proxy = proxy;
    app.use(graylaneKoa(options));
    app.use((ctx) => {
      ctx.body = seen(ctx.host);
    });
    return listen(
      h2 ? (http2.createServer(app.callback()) as never) : http.createServer(app.callback()),
    );
  },
  fastify: async (proxy, h2) => {
    const app = (h2
      ? Fastify({ http2: true, trustProxy: proxy })
      : Fastify({ trustProxy: proxy })) as unknown as FastifyInstance;
    await app.register(graylaneFastify, options);
    app.all('/*', async (req) => seen((req as unknown as { host?: string }).host ?? req.hostname));
    await app.ready();
    return listen(app.server as never);
  },
  hono: async (_proxy, h2) => {
    const app = new Hono();
    app.use(graylaneHono(options));
    app.all('*', (c) => c.json(seen(new URL(c.req.url).host)));
    return listen(
      createAdaptorServer({
        fetch: app.fetch,
        ...(h2 ? { createServer: http2.createServer } : {}),
      }) as http.Server,
    );
  },
};

const servers: Record<string, Running> = {};
beforeAll(async () => {
  await Promise.all(
    Object.entries(apps).flatMap(([name, make]) => [
      make(false, false).then((s) => (servers[`${name} h1`] = s)),
      make(true, false).then((s) => (servers[`${name} h1 trust proxy`] = s)),
      ...(name === 'express' ? [] : [make(false, true).then((s) => (servers[`${name} h2`] = s))]),
    ]),
  );
});
afterAll(closeAll);

/** [Host, X-Forwarded-Host (undefined: not sent)]. */
const FORWARDED: [host: string, forwarded: string | undefined][] = [
  ['backend:3000', 'beta.shop.example'],
  ['backend', 'beta.shop.example:443'],
  ['beta.shop.example', 'backend'],
  ['backend:3000', 'beta.shop.example, backend'],
  ['backend', 'BETA.Shop.Example'],
  ['backend', ''],
  ['backend', undefined],
  ['beta.shop.example', undefined],
  ['other.example', 'other2.example'],
];

describe('REQ-01 behind a proxy the host rules read the host the framework reads', () => {
  for (const name of Object.keys(apps))
    for (const proxy of [false, true])
      it.each(FORWARDED)(
        `REQ-01 ${name}${proxy ? ' (trusting the proxy)' : ''}: Host %s, X-Forwarded-Host %s`,
        async (host, forwarded) => {
          const server = servers[`${name} h1${proxy ? ' trust proxy' : ''}`] as Running;
          const extra = forwarded === undefined ? '' : `X-Forwarded-Host: ${forwarded}\r\n`;
          const raw = await rawRequest(
            server.port,
            `GET /p HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`,
          );
          expect(raw.slice(0, 12)).toBe('HTTP/1.1 200');
          const got = rawBody(raw) as Seen;
          expect(got.host).toBeTypeOf('string');
          expect(got.ruleId).toBe(RULES[got.host as string]);
        },
      );
});

const h2Get = (port: number, headers: http2.OutgoingHttpHeaders) => h2Json<Seen>(port, headers);

/** [`:authority`, `Host` (undefined: not sent)]: h2 clients send `:authority`, some add `Host`. */
const H2: [authority: string, host: string | undefined][] = [
  ['beta.shop.example', 'backend'],
  ['backend', 'beta.shop.example'],
  ['beta.shop.example', undefined],
  ['backend:8443', 'beta.shop.example:8443'],
  ['other.example', 'backend'],
];

describe('REQ-02 over HTTP/2 the host rules read `Host` or `:authority` as the framework does', () => {
  for (const name of ['koa', 'fastify', 'hono'])
    it.each(H2)(`REQ-02 ${name} h2: :authority %s, Host %s`, async (authority, host) => {
      const got = await h2Get((servers[`${name} h2`] as Running).port, {
        ':authority': authority,
        ...(host === undefined ? {} : { host }),
      });
      expect(got.host).toBeTypeOf('string');
      expect(got.ruleId).toBe(RULES[got.host as string]);
    });
});
