// What graylane writes on a fastify response (I1, STK): its sticky cookies reach the client once
// each and the app's own cookies are kept, however the route sets them or writes the reply —
// `reply.header`, `reply.raw.setHeader`, both, a route that writes through `reply.raw` (SSE) or
// hijacks the reply. Before, graylane's reply header made fastify's writeHead drop a cookie set
// on `reply.raw`, and raw routes sent no graylane cookie at all. graylane's cookies are now on the
// Node response and kept at its writeHead. Real fastify, loopback.
import { afterAll, describe, expect, it } from 'vitest';
import type http from 'node:http';
import Fastify, { type FastifyReply } from 'fastify';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { getGrayVersion } from '../src/index.js';
import { closeAll, listen } from './helpers.js';

afterAll(closeAll);

const config = {
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
};

type Route = (reply: FastifyReply) => unknown;
const ROUTES: [string, Route, string[]][] = [
  ['a value', () => getGrayVersion(), []],
  [
    'reply.header cookies',
    (r) => r.header('set-cookie', 'app=1').header('set-cookie', 'app2=2').send('x'),
    ['app', 'app2'],
  ],
  [
    'reply.raw.setHeader cookie',
    (r) => {
      r.raw.setHeader('set-cookie', [
        ...([r.raw.getHeader('set-cookie') ?? []].flat() as string[]),
        'raw=1',
      ]);
      return 'x';
    },
    ['raw'],
  ],
  [
    // fastify's writeHead puts the reply's cookies in place of the raw ones, as without graylane
    // (response-cookies.test.ts compares each write with the same app without graylane).
    'reply.raw.appendHeader and reply.header',
    (r) => {
      r.raw.appendHeader('set-cookie', 'raw=1');
      return r.header('set-cookie', 'app=1').send('x');
    },
    ['app'],
  ],
  ['a redirect', (r) => r.redirect('/elsewhere'), []],
  [
    'an error',
    () => {
      throw new Error('boom');
    },
    [],
  ],
  ['204', (r) => r.code(204).send(), []],
  [
    'SSE through reply.raw',
    (r) => {
      r.hijack();
      r.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      r.raw.end('data: x\n\n');
    },
    [],
  ],
  [
    'hijack and end',
    (r) => {
      r.hijack();
      r.raw.end('raw');
    },
    [],
  ],
];

describe('STK I1 fastify: graylane’s cookies and the app’s, however the route replies', () => {
  it.each(ROUTES)('%s', async (_name, route, appCookies) => {
    const app = Fastify();
    await app.register(graylaneFastify, { config, sticky: true });
    app.get('/p', async (_req, reply) => route(reply));
    await app.ready();
    const s = await listen(app.server as http.Server);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${s.url}/p`, { redirect: 'manual' });
      await res.arrayBuffer();
      const names = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')));
      const at = res.headers.getSetCookie().join(' | ');
      expect(names.filter((n) => n === 'gray' || n === 'gray_uid').sort(), at).toEqual([
        'gray',
        'gray_uid',
      ]);
      for (const n of appCookies) expect(names, at).toContain(n);
      expect(new Set(names).size, at).toBe(names.length);
    }
  });
});

describe('I1 fastify: the debug header, however the route replies', () => {
  // It went through the reply, so a route that hijacked it (SSE) sent none.
  it.each(ROUTES)('%s', async (_name, route) => {
    const app = Fastify();
    await app.register(graylaneFastify, { config, debugHeader: true });
    app.get('/p', async (_req, reply) => route(reply));
    await app.ready();
    const s = await listen(app.server as http.Server);
    const res = await fetch(`${s.url}/p`, { redirect: 'manual' });
    await res.arrayBuffer();
    expect(res.headers.get('x-gray-decision')).toMatch(/^version=(stable|beta); reason=/);
  });
});
