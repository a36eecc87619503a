import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import {
  createGraylane,
  getGrayDecision,
  getGrayVersion,
  type GraylaneOptions,
} from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, listen, type Running } from './helpers.js';

afterEach(closeAll);

const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'canary', weight: 100 },
        { version: 'stable', weight: 0 },
      ],
      bucketBy: 'cookie:gid',
      match: { path: { prefix: '/sticky' } },
    },
  ],
};
const options = { config, sticky: true, debugHeader: true } satisfies GraylaneOptions;

/** Each app answers GET /v (after a timer) and POST /body (after reading the body) with the version it observes. */
const apps: Record<string, () => Promise<Running>> = {
  'node:http': async () => {
    const gray = createGraylane(options);
    return listen(
      http.createServer((req, res) =>
        gray.handle(req, res, () => {
          let body = '';
          req.on('data', (c: Buffer) => (body += c.toString()));
          req.on('end', () => {
            void sleep(5).then(() =>
              res.end(
                JSON.stringify({
                  version: getGrayVersion(),
                  body,
                  reason: getGrayDecision()?.reason,
                }),
              ),
            );
          });
        }),
      ),
    );
  },
  express: async () => {
    const app = express();
    app.use(graylaneExpress(options));
    app.use(express.json({ limit: '1mb' }));
    app.get(/.*/, async (_req, res) => {
      await sleep(5);
      res.json({ version: getGrayVersion(), reason: getGrayDecision()?.reason });
    });
    app.post('/body', (req, res) =>
      res.json({ version: getGrayVersion(), body: JSON.stringify(req.body) }),
    );
    return listen(http.createServer(app));
  },
  koa: async () => {
    const app = new Koa();
    app.use(graylaneKoa(options));
    app.use(async (ctx) => {
      let body = '';
      for await (const chunk of ctx.req) body += (chunk as Buffer).toString();
      await sleep(5);
      ctx.body = {
        version: getGrayVersion(),
        body: body || undefined,
        reason: getGrayDecision()?.reason,
      };
    });
    return listen(http.createServer(app.callback()));
  },
  fastify: async () => {
    const app = Fastify();
    await app.register(graylaneFastify, options);
    app.register(async (child) => {
      // An encapsulated child context still sees the hook (skip-override).
      child.get('/*', async () => {
        await sleep(5);
        return { version: getGrayVersion(), reason: getGrayDecision()?.reason };
      });
      child.post('/body', async (req) => ({
        version: getGrayVersion(),
        body: JSON.stringify(req.body),
      }));
    });
    await app.ready();
    return listen(app.server);
  },
  hono: async () => {
    const app = new Hono();
    app.use(graylaneHono(options));
    app.get('/*', async (c) => {
      await sleep(5);
      return c.json({ version: getGrayVersion(), reason: getGrayDecision()?.reason });
    });
    app.post('/body', async (c) => c.json({ version: getGrayVersion(), body: await c.req.text() }));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

describe.each(Object.keys(apps))('%s adapter', (name) => {
  const start = apps[name] as () => Promise<Running>;

  it('HDR-03 reads the header marker and binds the context for the handler', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/v`, { headers: { 'x-gray-id': 'beta' } });
    expect(await res.json()).toMatchObject({ version: 'beta', reason: 'header' });
    expect(res.headers.get('x-gray-decision')).toBe('version=beta; reason=header; source=header');
  });

  it('I7 two concurrent requests with different markers each see their own (CTX-01 timers)', async () => {
    const s = await start();
    const markers = Array.from(
      { length: 40 },
      (_, i) => ['stable', 'beta', 'canary'][i % 3] as string,
    );
    const seen = await Promise.all(
      markers.map(
        async (m) =>
          (
            (await (await fetch(`${s.url}/v`, { headers: { 'x-gray-id': m } })).json()) as {
              version: string;
            }
          ).version,
      ),
    );
    expect(seen).toEqual(markers);
  });

  it('CTX-05 POST bodies through the framework body parser keep the marker', async () => {
    const s = await start();
    const payload = JSON.stringify({ big: 'x'.repeat(200_000) });
    const res = await Promise.all(
      ['beta', 'canary'].map((m) =>
        fetch(`${s.url}/body`, {
          method: 'POST',
          body: payload,
          headers: { 'content-type': 'application/json', 'x-gray-id': m },
        }),
      ),
    );
    const out = (await Promise.all(res.map((r) => r.json()))) as {
      version: string;
      body: string;
    }[];
    expect(out.map((o) => o.version)).toEqual(['beta', 'canary']);
    expect(out[0]?.body).toBe(payload);
  });

  it('sticky: weighted assignment sets the subject and version cookies, then stays', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/sticky`);
    expect(await res.json()).toMatchObject({ version: 'canary', reason: 'weight' });
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies.find((c) => c.startsWith('gray='))).toBe(
      'gray=canary; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Priority=High',
    );
    const again = await fetch(`${s.url}/sticky`, {
      headers: { cookie: cookies.map((c) => c.split(';')[0]).join('; ') },
    });
    expect(await again.json()).toMatchObject({ version: 'canary', reason: 'cookie' });
  });
});
