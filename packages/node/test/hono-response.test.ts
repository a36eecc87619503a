// What graylane writes on a hono response (I1, STK): the sticky cookies and the debug header reach
// the client whatever the handler returns — hono's own builders, a `Response` the handler made,
// a `fetch` passthrough (immutable headers), an `HTTPException`, a stream — once each, with the
// app's own cookies kept. Before, only hono's builders got them: a handler that returned its own
// `Response` lost the sticky cookie, so every request drew the split again. Real hono on
// @hono/node-server, loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { streamText } from 'hono/streaming';
import { createAdaptorServer } from '@hono/node-server';
import { getGrayVersion } from '../src/index.js';
import { graylaneHono } from '../src/adapters/hono.js';
import { closeAll, listen, type Running } from './helpers.js';

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

let upstream: Running;
beforeAll(async () => {
  upstream = await listen(
    http.createServer((_req, res) => {
      res.setHeader('set-cookie', ['up=1; Path=/', 'up2=2; Path=/']);
      res.end('from upstream');
    }),
  );
});

type Handler = (c: Context) => Response | Promise<Response>;
const HANDLERS: [string, Handler, string[]][] = [
  ['c.text', (c) => c.text(getGrayVersion()), []],
  ['c.json', (c) => c.json({ v: getGrayVersion() }), []],
  ['c.redirect', (c) => c.redirect('/elsewhere'), []],
  ['new Response', () => new Response(getGrayVersion()), []],
  [
    'new Response with its own cookies',
    () => {
      const h = new Headers([['set-cookie', 'app=1; Path=/']]);
      h.append('set-cookie', 'app2=2; Path=/');
      return new Response('x', { headers: h });
    },
    ['app=1', 'app2=2'],
  ],
  ['Response.json', () => Response.json({ ok: true }), []],
  ['Response.redirect (immutable headers)', () => Response.redirect('http://127.0.0.1/x', 302), []],
  ['a fetch passthrough (immutable headers)', () => fetch(`${upstream.url}/`), ['up=1', 'up2=2']],
  [
    'c.header cookies then new Response',
    (c) => {
      c.header('set-cookie', 'prep=1; Path=/', { append: true });
      return new Response('x');
    },
    [],
  ],
  [
    'HTTPException',
    () => {
      throw new HTTPException(401, { message: 'no' });
    },
    [],
  ],
  ['streamText', (c) => streamText(c, async (s) => void (await s.write('streamed'))), []],
  ['204', (c) => c.body(null, 204), []],
];

async function serve(handler: Handler, options: Record<string, unknown> = {}): Promise<Running> {
  const app = new Hono();
  app.use(graylaneHono({ config, sticky: true, debugHeader: true, ...options }));
  app.all('/*', handler);
  return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
}

function cookieNames(setCookies: string[]): string[] {
  return setCookies.map((c) => c.slice(0, c.indexOf(';')));
}

describe('STK I1 hono: a cookie of graylane’s name that the handler sets wins', () => {
  // As in the Node adapters (response-cookies.test.ts): graylane's cookie is put back on a
  // response that lacks it, never beside the app's own cookie of that name.
  const OWN: [string, Handler][] = [
    ['c.header replaces', (c) => (c.header('set-cookie', 'gray=beta; Path=/'), c.text('x'))],
    [
      'new Response with it',
      () => new Response('x', { headers: { 'set-cookie': 'gray=beta; Path=/' } }),
    ],
    [
      'new Response with it and another',
      () => {
        const h = new Headers([['set-cookie', 'app=1; Path=/']]);
        h.append('set-cookie', 'gray=beta; Path=/');
        return new Response('x', { headers: h });
      },
    ],
  ];
  it.each(OWN)('%s', async (_name, handler) => {
    const s = await serve(handler);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${s.url}/p`, { redirect: 'manual' });
      await res.arrayBuffer();
      const cookies = cookieNames(res.headers.getSetCookie());
      expect(
        cookies.filter((c) => c.startsWith('gray=')),
        cookies.join(' | '),
      ).toEqual(['gray=beta']);
      expect(cookies.filter((c) => c.startsWith('gray_uid=')).length).toBe(1);
    }
  });
});

describe('STK I1 hono: graylane’s response headers whatever the handler returns', () => {
  it.each(HANDLERS)('%s', async (_name, handler, appCookies) => {
    const s = await serve(handler);
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await fetch(`${s.url}/p`, { method, redirect: 'manual' });
      await res.arrayBuffer();
      const cookies = cookieNames(res.headers.getSetCookie());
      const ours = cookies.filter((c) => /^(gray|gray_uid)=/.test(c));
      expect(ours.map((c) => c.split('=')[0]).sort(), method).toEqual(['gray', 'gray_uid']);
      for (const app of appCookies) expect(cookies, method).toContain(app);
      expect(res.headers.get('x-gray-decision'), method).toMatch(/^version=(stable|beta);/);
      // The lane served and the lane stored agree.
      const stored = ours.find((c) => c.startsWith('gray='))?.slice(5);
      expect(res.headers.get('x-gray-decision')).toContain(`version=${stored};`);
    }
  });

  it.each(HANDLERS)('%s, second visit: nothing new is written', async (_name, handler) => {
    const s = await serve(handler);
    const first = await fetch(`${s.url}/p`, { redirect: 'manual' });
    await first.arrayBuffer();
    const jar = cookieNames(first.headers.getSetCookie())
      .filter((c) => /^(gray|gray_uid)=/.test(c))
      .join('; ');
    const again = await fetch(`${s.url}/p`, { headers: { cookie: jar }, redirect: 'manual' });
    await again.arrayBuffer();
    expect(cookieNames(again.headers.getSetCookie()).filter((c) => /^gray/.test(c))).toEqual([]);
  });
});
