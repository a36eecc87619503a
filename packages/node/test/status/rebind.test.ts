import http from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane } from '../../src/index.js';
import { createStatusHandler, type StatusHandler } from '../../src/status/index.js';
import { listen, type Running } from '../helpers.js';
import { CONFIG, send } from './support.js';

/*
 * I8, DNS rebinding against the loopback-only page: a page on `rebind.attacker.example` whose
 * name now resolves to 127.0.0.1 reaches the socket from a loopback peer with no proxy header.
 * Only the Host it sends tells it apart, so every mount must refuse a non-loopback Host — and
 * the forwarding headers a proxy adds must count as proxied too.
 */

const mounts: Record<string, (status: StatusHandler) => Promise<Running>> = {
  'node:http': (status) =>
    listen(http.createServer((req, res) => status.middleware(req, res, () => res.end('app')))),
  express: (status) => {
    const app = express();
    app.use(status.middleware);
    app.use((_req, res) => void res.send('app'));
    return listen(http.createServer(app));
  },
  koa: (status) => {
    const app = new Koa();
    app.use(status.koa);
    app.use((ctx) => void (ctx.body = 'app'));
    return listen(http.createServer(app.callback()));
  },
  fastify: async (status) => {
    const app = Fastify();
    app.addHook('onRequest', status.fastify);
    app.get('/*', async () => 'app');
    await app.ready();
    return listen(app.server);
  },
};

const REFUSED_HOSTS = [
  'rebind.attacker.example',
  'localhost.attacker.example',
  '127.0.0.1.nip.io',
  '10.0.0.1',
  'localhost.',
];
const SERVED_HOSTS = ['localhost', 'app.localhost', '127.0.0.1', '[::1]'];
const PROXY_HEADERS = [
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-prefix',
];

describe.each(Object.keys(mounts))('%s, loopback-only (no token)', (name) => {
  let app: Running;
  beforeAll(async () => {
    const gray = createGraylane({ config: CONFIG });
    app = await (mounts[name] as (s: StatusHandler) => Promise<Running>)(
      createStatusHandler({ graylane: gray, enabled: true }),
    );
  });
  afterAll(() => app.close());

  const port = () => new URL(app.url).port;
  const json = () => `${app.url}/graylane/status/status.json`;

  it.each(REFUSED_HOSTS)('Host %s (with its port): 404, nothing of the report', async (host) => {
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      const reply = await send(`${app.url}${path}`, {
        headers: { host: `${host}:${port()}`, origin: `http://${host}:${port()}` },
      });
      expect(reply.status).toBe(404);
      expect(reply.body).not.toContain('graylane');
    }
  });

  it.each(SERVED_HOSTS)('Host %s (with and without its port): served', async (host) => {
    for (const value of [host, `${host}:${port()}`]) {
      expect((await send(json(), { headers: { host: value } })).status).toBe(200);
    }
  });

  it.each(PROXY_HEADERS)('%s: a proxied request, 404', async (header) => {
    const reply = await send(json(), {
      headers: { [header]: header.endsWith('port') ? '443' : 'x' },
    });
    expect(reply.status).toBe(404);
  });
});
