import http from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '../../src/index.js';
import { graylaneExpress } from '../../src/adapters/express.js';
import { graylaneKoa } from '../../src/adapters/koa.js';
import { graylaneFastify, graylaneFastifyStats } from '../../src/adapters/fastify.js';
import { createStatusHandler, type StatusHandlerOptions } from '../../src/status/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { CONFIG, TOKEN, send, validReport } from './support.js';

afterEach(closeAll);

type Options = Omit<StatusHandlerOptions, 'graylane'>;

/** Each framework: graylane's own adapter, the status page, and a route answering the version. */
const frameworks: Record<string, (options: Options) => Promise<Running>> = {
  async express(options) {
    const middleware = graylaneExpress({ config: CONFIG });
    const app = express();
    app.use(createStatusHandler({ graylane: middleware.graylane, ...options }).middleware);
    app.use(middleware);
    app.get('/v', (_req, res) => void res.send(getGrayVersion()));
    return listen(http.createServer(app));
  },
  async 'express, mounted under a prefix'(options) {
    const gray = createGraylane({ config: CONFIG });
    const app = express();
    // express strips `/ops` from req.url; the handler matches on req.originalUrl.
    app.use(
      '/ops',
      createStatusHandler({ graylane: gray, ...options, path: '/ops/graylane/status' }).middleware,
    );
    app.use(gray.middleware);
    app.get('/v', (_req, res) => void res.send(getGrayVersion()));
    return listen(http.createServer(app));
  },
  async koa(options) {
    const middleware = graylaneKoa({ config: CONFIG });
    const gray = createGraylane({ config: CONFIG });
    const app = new Koa();
    app.use(
      createStatusHandler({ graylane: { store: gray.store, stats: middleware.stats }, ...options })
        .koa,
    );
    app.use(middleware);
    app.use((ctx) => {
      if (ctx.path === '/v') ctx.body = getGrayVersion();
    });
    return listen(http.createServer(app.callback()));
  },
  async fastify(options) {
    const gray = createGraylane({ config: CONFIG });
    const app = Fastify();
    // The page is created before the plugin is registered: its stats are read when it reports.
    const stats = graylaneFastifyStats(app);
    app.addHook(
      'onRequest',
      createStatusHandler({ graylane: { store: gray.store, stats }, ...options }).fastify,
    );
    await app.register(graylaneFastify, { config: gray.store });
    app.get('/v', async () => getGrayVersion());
    await app.ready();
    return listen(app.server);
  },
};

const base = (name: string) =>
  name.includes('prefix') ? '/ops/graylane/status' : '/graylane/status';

describe.each(Object.keys(frameworks))('%s', (name) => {
  const start = frameworks[name] as (options: Options) => Promise<Running>;

  it('off by default: the status paths reach the app, its routes work', async () => {
    const app = await start({});
    expect((await send(`${app.url}${base(name)}/status.json`)).status).toBe(404);
    const v = await send(`${app.url}/v`, { headers: { 'x-gray-id': 'beta' } });
    expect(v.body).toBe('beta');
  });

  it('enabled: the page and the JSON are served, with the CSP, and the app still works', async () => {
    const app = await start({ enabled: true });
    await send(`${app.url}/v`, { headers: { 'x-gray-id': 'canary' } });
    const page = await send(`${app.url}${base(name)}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    const nonce = /script-src 'nonce-([^']+)'/.exec(
      String(page.headers['content-security-policy']),
    )?.[1];
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    const report = validReport(await send(`${app.url}${base(name)}/status.json`));
    expect(report.traffic.byVersion).toEqual(
      expect.arrayContaining([{ version: 'canary', count: 1, share: 1 }]),
    );
    expect((await send(`${app.url}/v`)).body).toBe('stable');
    expect(report.problems).toEqual([]);
  });

  it('HEAD has no body, POST is 405', async () => {
    const app = await start({ enabled: true });
    const head = await send(`${app.url}${base(name)}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
    const post = await send(`${app.url}${base(name)}/status.json`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
  });

  it.each([
    ['right', 200, { authorization: `Bearer ${TOKEN}` }],
    ['absent', 401, {}],
    ['wrong', 401, { authorization: 'Bearer wrong-token-of-some-length' }],
    ['duplicated', 401, { authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] }],
  ] as const)('token %s → %i', async (_n, status, headers) => {
    const app = await start({ enabled: true, token: TOKEN });
    const reply = await send(`${app.url}${base(name)}/status.json`, {
      headers: headers as Record<string, string | string[]>,
    });
    expect(reply.status).toBe(status);
    if (status === 401)
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="graylane-status"');
    else validReport(reply);
  });

  it('loopback-only: a request with proxy headers gets 404', async () => {
    const app = await start({ enabled: true });
    const reply = await send(`${app.url}${base(name)}/status.json`, {
      headers: { 'x-forwarded-for': '198.51.100.4' },
    });
    expect(reply.status).toBe(404);
    expect(reply.body).not.toContain('graylane');
  });
});

// Review 108 D3: a page whose counters are not wired read zero traffic and said nothing.
describe('the page says when it cannot count', () => {
  const fastifyApp = async (register: boolean, stats: boolean) => {
    const gray = createGraylane({ config: CONFIG });
    const app = Fastify();
    const status = createStatusHandler({
      graylane: stats
        ? { store: gray.store, stats: graylaneFastifyStats(app) }
        : { store: gray.store },
      enabled: true,
    });
    app.addHook('onRequest', status.fastify);
    if (register) await app.register(graylaneFastify, { config: gray.store });
    else
      app.addHook('onRequest', (request, reply, done) =>
        gray.handle(request.raw, reply.raw, () => done()),
      );
    app.get('/v', async () => getGrayVersion());
    await app.ready();
    return listen(app.server);
  };
  const report = async (app: Running, versions: readonly string[]) => {
    for (const v of versions) await send(`${app.url}/v`, { headers: { 'x-gray-id': v } });
    return validReport(await send(`${app.url}/graylane/status/status.json`));
  };

  it.each([
    [['beta'], 1],
    [['beta', 'beta', 'canary'], 3],
    [['stable', 'beta', 'canary', 'bogus'], 4],
  ] as const)(
    'fastify plugin + graylaneFastifyStats: %j → %i decisions counted, no problem',
    async (versions, total) => {
      const r = await report(await fastifyApp(true, true), versions);
      expect(r.traffic.total).toBe(total);
      expect(r.problems).toEqual([]);
    },
  );

  it('graylaneFastifyStats of an app without the plugin: the problem names it, traffic reads 0', async () => {
    const r = await report(await fastifyApp(false, true), ['beta', 'beta']);
    expect(r.traffic.total).toBe(0);
    expect(r.problems).toEqual([
      expect.stringMatching(
        /^stats\(\) threw: .*no graylane fastify plugin is registered on this app/,
      ),
    ]);
  });

  it.each(['fastify', 'node:http'])(
    '%s page without stats: the problem says nothing is counted',
    async (kind) => {
      const gray = createGraylane({ config: CONFIG });
      const app =
        kind === 'fastify'
          ? await fastifyApp(true, false)
          : await listen(
              http.createServer((req, res) =>
                createStatusHandler({ graylane: { store: gray.store }, enabled: true }).middleware(
                  req,
                  res,
                  () => gray.handle(req, res, () => void res.end(getGrayVersion())),
                ),
              ),
            );
      const r = await report(app, ['beta']);
      expect(r.traffic.total).toBe(0);
      expect(r.problems).toEqual([
        expect.stringMatching(
          /^no stats: decisions, fallbacks and invalid markers are not counted/,
        ),
      ]);
    },
  );
});
