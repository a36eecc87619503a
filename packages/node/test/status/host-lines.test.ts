import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { STATUS_PROXY_HEADERS } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane } from '../../src/index.js';
import { createStatusHandler, type StatusHandler } from '../../src/status/index.js';
import { listen, type Running } from '../helpers.js';
import { CONFIG } from './support.js';

/*
 * Review 169 N4, I8: the loopback-only status page over real HTTP, request bytes written on a
 * raw socket. A request with more than one `Host` line (`Host: localhost` then
 * `Host: evil.example`, in any case or order, empty, with ports, IPv6) names no single host:
 * Node keeps the first in `req.headers`, a proxy in front may route on the last, and RFC 9112
 * §3.2 makes it invalid — refused with the same 404 as every refusal. So is a request with any
 * header a proxy or CDN adds (`STATUS_PROXY_HEADERS`), in any case, even empty. Headers clients
 * send themselves and one loopback `Host` are controls: served.
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

/** One request written as bytes; resolves with the status code and body once the server closes. */
function raw(
  port: number,
  path: string,
  lines: readonly string[],
): Promise<{ status: number; body: string }> {
  const text = [`GET ${path} HTTP/1.1`, ...lines, 'Connection: close', '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const reply = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
      resolve({ status, body: reply.slice(reply.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** `Host` lines (`{port}` is the server's port); `old` says the old source refused them already. */
const TWO_HOSTS: readonly { name: string; lines: readonly string[]; old?: 'refused' }[] = [
  { name: 'localhost, then evil.example', lines: ['Host: localhost', 'Host: evil.example'] },
  {
    name: 'evil.example, then localhost',
    lines: ['Host: evil.example', 'Host: localhost'],
    old: 'refused',
  },
  { name: 'host / HOST (case)', lines: ['host: localhost', 'HOST: evil.example'] },
  { name: 'hOsT / Host (case)', lines: ['hOsT: 127.0.0.1', 'Host: rebind.attacker.example'] },
  { name: 'the same loopback name twice', lines: ['Host: localhost', 'Host: localhost'] },
  { name: 'localhost, then an empty Host', lines: ['Host: localhost', 'Host:'] },
  { name: 'an empty Host, then localhost', lines: ['Host:', 'Host: localhost'], old: 'refused' },
  {
    name: 'with ports: 127.0.0.1:{port}, then evil.example:{port}',
    lines: ['Host: 127.0.0.1:{port}', 'Host: evil.example:{port}'],
  },
  {
    name: 'two loopback names with ports',
    lines: ['Host: localhost:{port}', 'Host: 127.0.0.1:{port}'],
  },
  {
    name: 'IPv6 [::1]:{port}, then evil.example',
    lines: ['Host: [::1]:{port}', 'Host: evil.example'],
  },
  { name: 'IPv6 [::1] twice', lines: ['Host: [::1]', 'Host: [::1]'] },
  {
    name: 'app.localhost, then a rebinding name',
    lines: ['Host: app.localhost', 'Host: rebind.attacker.example'],
  },
  {
    name: 'the second Host after other headers',
    lines: ['Host: localhost', 'Accept: */*', 'User-Agent: x', 'Host: evil.example'],
  },
  { name: 'three Host lines', lines: ['Host: localhost', 'Host: localhost', 'Host: [::1]'] },
];

const ONE_HOST = [
  'Host: localhost',
  'host: 127.0.0.1:{port}',
  'HOST: [::1]:{port}',
  'Host: app.localhost',
];

const NEW_PROXY_HEADERS = new Set([
  'forwarded-for',
  'x-forwarded',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-forwarded-client-cert',
  'x-original-forwarded-for',
  'x-original-host',
  'x-cluster-client-ip',
  'cf-connecting-ipv6',
  'x-azure-clientip',
  'x-azure-socketip',
  'x-envoy-external-address',
  'cdn-loop',
]);
/** Every header of the list, and the ones this change adds (rows even where the list lacks them). */
const PROXY_HEADERS = [...new Set([...STATUS_PROXY_HEADERS, ...NEW_PROXY_HEADERS])];
/** Header names as proxies write them. */
const spelled = (name: string): string => name.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase());

describe.each(Object.keys(mounts))('%s: Host lines and proxy headers on the wire', (name) => {
  let app: Running;
  beforeAll(async () => {
    const gray = createGraylane({ config: CONFIG });
    app = await (mounts[name] as (s: StatusHandler) => Promise<Running>)(
      createStatusHandler({ graylane: gray, enabled: true }),
    );
  });
  afterAll(() => app.close());
  const fill = (lines: readonly string[]) =>
    lines.map((l) => l.replaceAll('{port}', String(app.port)));

  it.each(TWO_HOSTS)('more than one Host ($name): 404 on the page and the JSON', async (row) => {
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      const reply = await raw(app.port, path, fill(row.lines));
      expect(reply.status).toBe(404);
      expect(reply.body).not.toContain('graylane');
    }
  });

  it.each(ONE_HOST)('control, one loopback Host (%s): served', async (line) => {
    const reply = await raw(app.port, '/graylane/status/status.json', fill([line]));
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('"config":');
  });

  it.each(PROXY_HEADERS)('proxy header %s: 404 in every spelling, even empty', async (header) => {
    for (const [spelling, value] of [
      [header, '203.0.113.7'],
      [spelled(header), '203.0.113.7'],
      [header.toUpperCase(), 'x'],
      [spelled(header), ''],
    ] as const) {
      const reply = await raw(app.port, '/graylane/status/status.json', [
        'Host: localhost',
        `${spelling}: ${value}`,
      ]);
      expect(reply.status, `${spelling}: ${value}`).toBe(404);
    }
  });

  it.each(['X-Request-ID', 'traceparent', 'X-Gray-Id', 'User-Agent', 'Accept-Language'])(
    'control, %s (a client sends it itself): served',
    async (header) => {
      const reply = await raw(app.port, '/graylane/status/status.json', [
        'Host: localhost',
        `${header}: 1`,
      ]);
      expect(reply.status).toBe(200);
    },
  );
});

it('the proxy list has every header the review and this test name', () => {
  for (const header of NEW_PROXY_HEADERS) expect(STATUS_PROXY_HEADERS).toContain(header);
});

describe('HTTP/2: :authority and host must name the same loopback host', () => {
  let server: http2.Http2Server;
  let port: number;
  beforeAll(async () => {
    const status = createStatusHandler({
      graylane: createGraylane({ config: CONFIG }),
      enabled: true,
    });
    server = http2.createServer((req, res) =>
      status.middleware(
        req as unknown as http.IncomingMessage,
        res as unknown as http.ServerResponse,
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (headers: http2.OutgoingHttpHeaders): Promise<number> =>
    new Promise((resolve, reject) => {
      const client = http2.connect(`http://127.0.0.1:${port}`);
      client.on('error', reject);
      const req = client.request({ ':path': '/graylane/status/status.json', ...headers });
      req.on('response', (h) => {
        resolve(Number(h[':status']));
        client.close();
      });
      req.on('error', reject);
      req.resume();
      req.end();
    });

  it.each([
    [{ ':authority': 'evil.example', host: 'localhost' }, 404],
    [{ ':authority': 'localhost', host: 'evil.example' }, 404],
    [{ ':authority': `localhost:${0}`, host: '127.0.0.1' }, 404],
    [{ ':authority': 'localhost' }, 200],
    [{ ':authority': 'localhost', host: 'LOCALHOST' }, 200],
  ] as const)('%j: %i', async (headers, want) => {
    expect(await get(headers)).toBe(want);
  });
});
