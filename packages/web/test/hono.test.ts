import { AsyncLocalStorage } from 'node:async_hooks';
import { Hono, type Context } from 'hono';
import { provideAsyncLocalStorage, withGray } from '@graylane/web';
import { graylaneHono, type GrayVariables } from '@graylane/web/hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder, type Recorder } from './support/recorder.js';

provideAsyncLocalStorage(AsyncLocalStorage);

let downstream: Recorder;
beforeAll(async () => {
  downstream = await startRecorder();
});
afterAll(() => downstream.close());

const config = { versions: ['stable', 'beta'], default: 'stable' };

describe('@graylane/web/hono with real hono', () => {
  it('puts the lane on the context, runs the chain in it, writes sticky cookies', async () => {
    const app = new Hono<{ Variables: GrayVariables }>();
    app.use(graylaneHono({ config, allowHosts: [downstream.host], sticky: true }));
    app.get('/', async (c) => {
      const res = await withGray(fetch)(`${downstream.origin}/x`);
      const seen = (await res.json()) as { marker?: string };
      return c.json({
        version: c.get('grayVersion'),
        reason: c.get('grayDecision').reason,
        downstream: seen.marker,
      });
    });
    const res = await app.request('/', { headers: { 'x-gray-id': 'beta' } });
    expect(await res.json()).toEqual({ version: 'beta', reason: 'header', downstream: 'beta' });
    const cookie = await app.request('/', { headers: { cookie: 'gray=nope' } });
    // PREC-03: an ignored cookie marker is rewritten on the response with the decided version.
    expect(cookie.headers.getSetCookie()).toContain(
      'gray=stable; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly; Priority=High',
    );
  });

  it('GW-02 edge mode: later handlers see the request without the client carriers', async () => {
    const app = new Hono<{ Variables: GrayVariables }>();
    app.use(graylaneHono({ config, trust: 'edge' }));
    app.get('/', (c) =>
      c.json({
        version: c.get('grayVersion'),
        marker: c.req.header('x-gray-id') ?? null,
        cookie: c.req.header('cookie') ?? null,
        query: c.req.query('gray') ?? null,
      }),
    );
    const res = await app.request('/?gray=beta', {
      headers: { 'x-gray-id': 'beta', cookie: 'gray=beta; a=1' },
    });
    expect(await res.json()).toEqual({
      version: 'stable',
      marker: null,
      cookie: 'a=1',
      query: null,
    });
  });

  // A hono handler may answer with c.text/c.json, or return any Response itself: a proxied
  // fetch (immutable headers), Response.redirect, a stream, hono's error page. Each answer must
  // carry the sticky cookies and the debug header exactly once (STK-02; a lost gray_uid
  // re-splits the visitor on every request).
  it.each([
    ['c.text', (c: Ctx) => c.text('ok')],
    ['c.json', (c: Ctx) => c.json({ ok: true })],
    ['c.redirect', (c: Ctx) => c.redirect('/elsewhere', 302)],
    ['a new Response', () => new Response('raw', { headers: { 'set-cookie': 'app=1; Path=/' } })],
    ['Response.redirect (immutable headers)', () => Response.redirect('http://app.test/x', 307)],
    ['a proxied fetch (immutable headers)', () => fetch(`${downstream.origin}/x`)],
    [
      'a streamed Response',
      () =>
        new Response(
          new ReadableStream({
            start(ctl) {
              ctl.enqueue(new TextEncoder().encode('chunk'));
              ctl.close();
            },
          }),
        ),
    ],
    [
      'a thrown error (hono onError)',
      () => {
        throw new Error('boom');
      },
    ],
  ] as const)(
    'STK-02 a handler answering with %s keeps the sticky cookies',
    async (label, handler) => {
      const app = new Hono<{ Variables: GrayVariables }>();
      app.use(graylaneHono({ config: splitConfig, sticky: true, debugHeader: true }));
      app.get('/', handler as (c: Ctx) => Response | Promise<Response>);
      const res = await app.request('/');
      const cookies = res.headers.getSetCookie();
      expect(
        cookies.filter((c) => c.startsWith('gray_uid=')),
        label,
      ).toHaveLength(1);
      expect(
        cookies.filter((c) => c.startsWith('gray=')),
        label,
      ).toHaveLength(1);
      expect(res.headers.get('x-gray-decision'), label).toMatch(
        /^version=(stable|beta); reason=weight/,
      );
      if (label === 'a new Response') expect(cookies).toContain('app=1; Path=/');
      await res.body?.cancel();
    },
  );
});

describe('STK I1 @graylane/web/hono: a cookie of graylane’s name the handler sets wins', () => {
  // As in the Node adapters: graylane's cookie is never put beside the app's own of that name.
  it.each([
    ['c.header', (c: Ctx) => (c.header('set-cookie', 'gray=beta; Path=/'), c.text('x'))],
    ['a new Response', () => new Response('x', { headers: { 'set-cookie': 'gray=beta; Path=/' } })],
    [
      'a new Response with another cookie',
      () => {
        const h = new Headers([['set-cookie', 'app=1; Path=/']]);
        h.append('set-cookie', 'gray=beta; Path=/');
        return new Response('x', { headers: h });
      },
    ],
  ] as const)('%s', async (_label, handler) => {
    const app = new Hono<{ Variables: GrayVariables }>();
    app.use(graylaneHono({ config: splitConfig, sticky: true }));
    app.get('/', handler as (c: Ctx) => Response);
    for (let i = 0; i < 3; i++) {
      const cookies = (await app.request('/')).headers.getSetCookie();
      expect(
        cookies.filter((c) => c.startsWith('gray=')),
        cookies.join(' | '),
      ).toEqual(['gray=beta; Path=/']);
      expect(cookies.filter((c) => c.startsWith('gray_uid=')).length).toBe(1);
    }
  });
});

type Ctx = Context<{ Variables: GrayVariables }>;

const splitConfig = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

describe('GW-03 STK two graylane middlewares on one hono context', () => {
  // Mounted twice (a global and a path middleware, a sub-app with its own): each decides; the
  // handler is served the last decision, so only that one's cookies may go out. Before, both
  // wrote theirs and the stored lane contradicted the served one in about half the requests.
  const split = {
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
  const base = { config: split, sticky: true, debugHeader: true } as const;
  const KEYS = { k1: 'k1-secret-key-material-32-bytes!' };
  const MOUNTS: [string, () => Hono<{ Variables: GrayVariables }>][] = [
    [
      'one instance, mounted twice',
      () => {
        const mw = graylaneHono(base);
        return new Hono<{ Variables: GrayVariables }>().use(mw).use('/x/*', mw);
      },
    ],
    [
      'two instances, same options',
      () =>
        new Hono<{ Variables: GrayVariables }>()
          .use(graylaneHono(base))
          .use('/x/*', graylaneHono(base)),
    ],
    [
      'open, then edge',
      () =>
        new Hono<{ Variables: GrayVariables }>()
          .use(graylaneHono(base))
          .use('/x/*', graylaneHono({ ...base, trust: 'edge' })),
    ],
    [
      'open, then signed',
      () =>
        new Hono<{ Variables: GrayVariables }>()
          .use(graylaneHono(base))
          .use('/x/*', graylaneHono({ ...base, trust: 'signed', keys: KEYS })),
    ],
    [
      'a sub-app with its own',
      () => {
        const sub = new Hono<{ Variables: GrayVariables }>().use(graylaneHono(base));
        sub.get('/y', (c) => c.text(c.get('grayVersion')));
        return new Hono<{ Variables: GrayVariables }>().use(graylaneHono(base)).route('/x', sub);
      },
    ],
  ];
  it.each(MOUNTS)('%s: the stored lane is the served lane, once', async (_name, make) => {
    const app = make();
    app.get('/x/y', (c) => c.text(c.get('grayVersion')));
    for (let i = 0; i < 20; i++) {
      const res = await app.request('/x/y', { headers: { 'x-gray-id': i % 2 ? 'beta' : 'nope' } });
      const served = await res.text();
      const cookies = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';')));
      const names = cookies.map((c) => c.slice(0, c.indexOf('=')));
      expect(new Set(names).size, cookies.join(' | ')).toBe(names.length);
      const gray = cookies.find((c) => c.startsWith('gray='))?.slice(5);
      if (gray !== undefined) expect(gray.split('.')[0], cookies.join(' | ')).toBe(served);
      expect(res.headers.get('x-gray-decision')).toContain(`version=${served};`);
    }
  });
});
