// STK I1: graylane's sticky cookies survive what the app writes after graylane decided, in
// every Node adapter and by every API the app may use: `setHeader('set-cookie', …)` (replaces),
// `writeHead(status, { 'set-cookie': … })` (replaces), `writeHead(status, [name, value, …])`
// (on Node 20, after any earlier `setHeader`, Node kept only the last of the list's duplicates),
// express `res.set`, koa `ctx.set`, fastify `reply.header`. Before, each replace dropped
// graylane's cookie and every new visitor drew the split again on the next request.
// Each row runs against the same app without graylane: the app's own cookies and headers must
// come out as they do there. An app that strips `Set-Cookie` (a response to be cached) sends no
// cookie, and a cookie of graylane's name that the app set wins over graylane's.
// Real node:http, express, koa and fastify on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify, { type FastifyReply } from 'fastify';
import { privateCacheControl } from '@graylane/core';
import { createGraylane, tryGetGrayVersion } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
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
const options = { config, sticky: true } as const;

/** What graylane's cookies must be on a new visitor's response. */
type Ours = 'both' | 'none';

/** A write on Node's response; it ends the response. */
type NodeWrite = (res: ServerResponse) => void;

interface Row {
  readonly name: string;
  readonly write: NodeWrite;
  readonly ours: Ours;
  /**
   * The app's cookie names and `x-a` header where Node 22 reads the app's writes and Node 20 did
   * not: on Node 20, after any early `setHeader` (express's `X-Powered-By`), `writeHead` with a
   * list kept only the last of its duplicates. graylane merges the list as Node 22 does.
   */
  readonly app?: string[] | 'any';
  readonly xa?: string | 'any';
  /** The app's own `gray` cookie, sent instead of graylane's. */
  readonly gray?: string;
}

const c = (name: string) => `${name}=1; Path=/`;
const NODE_20 = process.versions.node.startsWith('20.');
const body = (res: ServerResponse) => res.end(tryGetGrayVersion() ?? 'none');

/** Writes through Node's own API: every adapter hands the app this response. */
const NODE: Row[] = [
  { name: 'end', write: body, ours: 'both' },
  {
    name: 'setHeader one cookie (replaces)',
    write: (r) => (r.setHeader('Set-Cookie', c('app')), body(r)),
    ours: 'both',
  },
  {
    name: 'setHeader cookie list (replaces)',
    write: (r) => (r.setHeader('set-cookie', [c('app'), c('app2')]), body(r)),
    ours: 'both',
  },
  {
    name: 'setHeader SET-COOKIE upper case',
    write: (r) => (r.setHeader('SET-COOKIE', c('app')), body(r)),
    ours: 'both',
  },
  {
    name: 'appendHeader',
    write: (r) => (r.appendHeader('set-cookie', c('app')), body(r)),
    ours: 'both',
  },
  {
    name: 'writeHead object with a cookie',
    write: (r) => (r.writeHead(200, { 'Set-Cookie': c('app') }), body(r)),
    ours: 'both',
  },
  {
    name: 'writeHead object with a cookie list and content type',
    write: (r) => (
      r.writeHead(200, { 'set-cookie': [c('app'), c('app2')], 'content-type': 'text/plain' }),
      body(r)
    ),
    ours: 'both',
  },
  {
    name: 'writeHead reason and object',
    write: (r) => (r.writeHead(200, 'Fine', { 'Set-Cookie': [c('app')] }), body(r)),
    ours: 'both',
  },
  {
    name: 'writeHead undefined reason then object',
    write: (r) => (r.writeHead(200, undefined, { 'Set-Cookie': c('app') }), body(r)),
    ours: 'both',
  },
  {
    name: 'writeHead raw list with duplicate cookies',
    write: (r) => (r.writeHead(200, ['Set-Cookie', c('app'), 'Set-Cookie', c('app2')]), body(r)),
    ours: 'both',
    app: ['app', 'app2'],
  },
  {
    name: 'writeHead raw list, mixed-case names',
    write: (r) => (r.writeHead(200, ['Set-Cookie', c('app'), 'set-cookie', c('app2')]), body(r)),
    ours: 'both',
    app: ['app', 'app2'],
  },
  {
    name: 'writeHead raw list without cookies',
    write: (r) => (
      r.writeHead(200, ['content-type', 'text/plain', 'x-a', '1', 'x-a', '2']),
      body(r)
    ),
    ours: 'both',
    // Other names go on as the app gave them, for Node to read: Node 22 keeps both values; Node
    // 20 keeps the last once any header is set (graylane's cookie, express's X-Powered-By).
    xa: NODE_20 ? 'any' : '1, 2',
  },
  {
    name: 'writeHead reason and raw list',
    write: (r) => (r.writeHead(200, 'Fine', ['set-cookie', c('app'), 'x-b', 'b']), body(r)),
    ours: 'both',
  },
  {
    name: 'early setHeader, then raw list with duplicate cookies',
    write: (r) => (
      r.setHeader('x-early', '1'),
      r.writeHead(200, ['set-cookie', c('app'), 'set-cookie', c('app2')]),
      body(r)
    ),
    ours: 'both',
    app: ['app', 'app2'],
  },
  {
    name: 'early cookie, then writeHead object replacing it',
    write: (r) => (
      r.setHeader('set-cookie', c('early')),
      r.writeHead(200, { 'set-cookie': c('app') }),
      body(r)
    ),
    ours: 'both',
  },
  {
    name: 'redirect with a cookie',
    write: (r) => (r.writeHead(302, { location: '/x', 'set-cookie': c('app') }), r.end()),
    ours: 'both',
  },
  { name: '204', write: (r) => ((r.statusCode = 204), r.end()), ours: 'both' },
  {
    name: 'flushHeaders then end',
    write: (r) => (r.setHeader('set-cookie', c('app')), r.flushHeaders(), body(r)),
    ours: 'both',
  },
  {
    name: 'write then end',
    write: (r) => (r.setHeader('set-cookie', c('app')), r.write('a'), body(r)),
    ours: 'both',
  },
  ...(
    [
      ['an invalid cookie value', [200, { 'set-cookie': 'a\nb' }]],
      ['an invalid header name', [200, { 'bad name': 'x', 'set-cookie': c('app') }]],
      ['an odd-length list', [200, ['set-cookie', c('app'), 'x-b']]],
      ['a list with an invalid value', [200, ['set-cookie', c('app'), 'x-b', 'a\rb']]],
      // Node checks the status before any header: none of these reach the 500.
      [
        'an invalid status',
        [
          1000,
          { 'cache-control': 'public, max-age=31536000', location: '/n', 'set-cookie': c('x') },
        ],
      ],
      ['an invalid status and a list', [99, ['cache-control', 'public', 'set-cookie', c('x')]]],
      [
        'a Date and an invalid value',
        [200, { Date: 'Mon, 01 Jan 2024 00:00:00 GMT', 'Content-Disposition': 'f="\u4e2d"' }],
      ],
    ] as [string, unknown[]][]
  ).map(([what, args]): Row => ({
    // Node refuses the app's writeHead with its own error, with graylane as without.
    name: `writeHead with ${what}: Node's error, then a 500`,
    write: (r) => {
      try {
        (r.writeHead as (...a: unknown[]) => unknown)(...args);
        r.setHeader('x-a', 'accepted');
      } catch (err) {
        r.statusCode = 500;
        r.setHeader('x-a', String((err as { code?: string }).code));
      }
      body(r);
    },
    ours: 'both',
    // Node applies a list's names before the invalid one once any header is set (graylane's
    // cookie, express's X-Powered-By): Node's own reading, which graylane leaves to Node.
    app: 'any',
  })),
  {
    name: 'removeHeader set-cookie (stripped to be cached)',
    write: (r) => (r.removeHeader('set-cookie'), body(r)),
    ours: 'none',
  },
  {
    name: 'setHeader empty cookie list (stripped)',
    write: (r) => (r.setHeader('set-cookie', []), body(r)),
    ours: 'none',
  },
  {
    name: 'the app sets a cookie named gray (the app wins)',
    write: (r) => (r.setHeader('set-cookie', 'gray=beta; Path=/'), body(r)),
    ours: 'both',
    gray: 'gray=beta; Path=/',
  },
  {
    name: 'the app sets gray in writeHead (the app wins)',
    write: (r) => (r.writeHead(200, { 'set-cookie': ['gray=beta; Path=/', c('app')] }), body(r)),
    ours: 'both',
    gray: 'gray=beta; Path=/',
  },
];

type Framework = 'node' | 'express' | 'koa' | 'fastify';

/** A server running `rows` at `/r/INDEX`, with graylane or without. */
async function serve(framework: Framework, rows: readonly NodeWrite[], gray: boolean) {
  const at = (url: string | undefined) => rows[Number(/\/r\/(\d+)/.exec(url ?? '')?.[1])];
  if (framework === 'node') {
    const g = createGraylane(options);
    return listen(
      http.createServer((req: IncomingMessage, res: ServerResponse) => {
        const write = at(req.url);
        if (!write) return void res.end();
        if (gray) g.handle(req, res, () => write(res));
        else write(res);
      }),
    );
  }
  if (framework === 'express') {
    const app = express();
    if (gray) app.use(graylaneExpress(options));
    app.get('/r/:i', (req, res) => at(req.url)?.(res));
    return listen(http.createServer(app));
  }
  if (framework === 'koa') {
    const app = new Koa();
    if (gray) app.use(graylaneKoa(options));
    app.use((ctx) => {
      ctx.respond = false;
      at(ctx.url)?.(ctx.res);
    });
    return listen(http.createServer(app.callback()));
  }
  const app = Fastify();
  if (gray) await app.register(graylaneFastify, options);
  app.get('/r/:i', (req, reply) => {
    void reply.hijack();
    at(req.url)?.(reply.raw);
  });
  await app.ready();
  return listen(app.server);
}

interface Seen {
  readonly ours: string[];
  readonly app: string[];
  readonly status: number;
  readonly xa: string | null;
  /** Cache-Control, Location, and whether Node's Date header is there. */
  readonly rest: [string | null, string | null, boolean];
}

async function visit(url: string, cookie?: string): Promise<Seen & { cookies: string[] }> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  await res.arrayBuffer();
  const cookies = res.headers.getSetCookie();
  const names = cookies.map((v) => v.slice(0, v.indexOf('=')).trim());
  const isOurs = (n: string) => n === 'gray_uid' || n === 'gray';
  return {
    cookies,
    ours: names.filter(isOurs).sort(),
    app: names.filter((n) => !isOurs(n)).sort(),
    status: res.status,
    xa: res.headers.get('x-a'),
    rest: [res.headers.get('cache-control'), res.headers.get('location'), res.headers.has('date')],
  };
}

const EXPECTED: Record<Ours, string[]> = {
  both: ['gray', 'gray_uid'],
  none: [],
};

const FRAMEWORKS: Framework[] = ['node', 'express', 'koa', 'fastify'];

describe.each(FRAMEWORKS)('STK I1 %s: graylane’s cookies survive the app’s writes', (fw) => {
  const urls: { gray: string; bare: string } = { gray: '', bare: '' };
  beforeAll(async () => {
    const writes = NODE.map((r) => r.write);
    urls.gray = (await serve(fw, writes, true)).url;
    urls.bare = (await serve(fw, writes, false)).url;
  });

  it.each(NODE.map((r, i) => [r.name, r, i] as const))('%s', async (_name, row, i) => {
    const bare = await visit(`${urls.bare}/r/${i}`);
    for (let n = 0; n < 3; n++) {
      const first = await visit(`${urls.gray}/r/${i}`);
      const at = first.cookies.join(' | ');
      expect(first.ours, at).toEqual(EXPECTED[row.ours]);
      if (row.app !== 'any') expect(first.app, at).toEqual(row.app ?? bare.app);
      // STK-06: a response with graylane's cookies goes out private (sticky-cache.test.ts).
      const [cc, ...rest] = bare.rest;
      const privately = first.ours.length > 0 ? (privateCacheControl(cc) ?? cc) : cc;
      expect([first.status, first.rest], at).toEqual([bare.status, [privately, ...rest]]);
      if (row.xa !== 'any') expect(first.xa, at).toBe(row.xa ?? bare.xa);
      const gray = first.cookies.filter((v) => v.startsWith('gray='));
      if (row.gray !== undefined) expect(gray, at).toEqual([row.gray]);
      else if (row.ours === 'both')
        expect(gray[0], at).toMatch(/^gray=(stable|beta); Path=\/; Max-Age=/);
      // A returning visitor: graylane writes nothing, the app's writes are as without graylane.
      const jar = first.cookies
        .filter((v) => /^gray(_uid)?=/.test(v))
        .map((v) => v.slice(0, v.indexOf(';')))
        .join('; ');
      if (row.ours !== 'both') continue;
      const again = await visit(`${urls.gray}/r/${i}`, jar);
      const mine = again.cookies.filter((v) => /^gray(_uid)?=/.test(v) && v !== row.gray);
      expect(mine, again.cookies.join(' | ')).toEqual([]);
      expect(again.app).toEqual(bare.app);
    }
  });
});

/** The frameworks' own cookie APIs, after graylane, against the same app without it. */
type Route = (gray: boolean) => Promise<{ url: string; bare: string }>;
const IDIOMS: [string, Route, Ours][] = [
  ...(
    [
      ['express res.cookie', (_q, r) => void r.cookie('app', '1').send('x')],
      ['express res.set replaces', (_q, r) => void r.set('Set-Cookie', c('app')).send('x')],
      ['express res.append', (_q, r) => void r.append('Set-Cookie', [c('a'), c('b')]).send('x')],
      ['express res.redirect after a cookie', (_q, r) => (r.cookie('app', '1'), r.redirect('/x'))],
      ['express res.sendStatus 204', (_q, r) => void r.set('Set-Cookie', c('app')).sendStatus(204)],
      [
        'express error to the default handler',
        (_q, r, next) => (r.set('Set-Cookie', c('app')), next(new Error('boom'))),
      ],
    ] as [string, express.RequestHandler][]
  ).map(([name, h]): [string, Route, Ours] => [
    name,
    async () => {
      const make = async (gray: boolean) => {
        const app = express();
        if (gray) app.use(graylaneExpress(options));
        app.get('/p', h);
        return (await listen(http.createServer(app))).url;
      };
      return { url: await make(true), bare: await make(false) };
    },
    'both',
  ]),
  ...(
    [
      ['koa ctx.cookies.set', (x) => (x.cookies.set('app', '1'), (x.body = 'x'))],
      ['koa ctx.set replaces', (x) => (x.set('Set-Cookie', c('app')), (x.body = 'x'))],
      ['koa ctx.append', (x) => (x.append('Set-Cookie', c('app')), (x.body = 'x'))],
      ['koa ctx.redirect', (x) => (x.set('Set-Cookie', c('app')), x.redirect('/x'))],
      ['koa 204', (x) => (x.set('Set-Cookie', [c('a'), c('b')]), (x.status = 204))],
    ] as [string, (ctx: Koa.Context) => unknown][]
  ).map(([name, h]): [string, Route, Ours] => [
    name,
    async () => {
      const make = async (gray: boolean) => {
        const app = new Koa();
        if (gray) app.use(graylaneKoa(options));
        app.use((ctx) => void h(ctx));
        return (await listen(http.createServer(app.callback()))).url;
      };
      return { url: await make(true), bare: await make(false) };
    },
    'both',
  ]),
  [
    // koa's error handler clears every header: the response goes out stripped, as without graylane.
    'koa ctx.throw (koa clears the headers)',
    async () => {
      const make = async (gray: boolean) => {
        const app = new Koa();
        app.silent = true;
        if (gray) app.use(graylaneKoa(options));
        app.use((ctx) => ctx.throw(500));
        return (await listen(http.createServer(app.callback()))).url;
      };
      return { url: await make(true), bare: await make(false) };
    },
    'none',
  ],
  ...(
    [
      ['fastify reply.header', (r) => r.header('set-cookie', c('app')).send('x')],
      ['fastify reply.headers', (r) => r.headers({ 'set-cookie': [c('a'), c('b')] }).send('x')],
      ['fastify redirect', (r) => r.header('set-cookie', c('app')).redirect('/x')],
      ['fastify 204', (r) => r.header('set-cookie', c('app')).code(204).send()],
      [
        'fastify raw setHeader then reply.header',
        (r) => (
          r.raw.setHeader('set-cookie', c('raw')),
          r.header('set-cookie', c('app')).send('x')
        ),
      ],
      ['fastify thrown error', () => Promise.reject(new Error('boom'))],
    ] as [string, (reply: FastifyReply) => unknown][]
  ).map(([name, h]): [string, Route, Ours] => [
    name,
    async () => {
      const make = async (gray: boolean) => {
        const app = Fastify();
        if (gray) await app.register(graylaneFastify, options);
        app.get('/p', (_req, reply) => h(reply));
        await app.ready();
        return (await listen(app.server)).url;
      };
      return { url: await make(true), bare: await make(false) };
    },
    'both',
  ]),
];

describe('STK I1 the frameworks’ own cookie APIs after graylane', () => {
  it.each(IDIOMS)('%s', async (_name, route, ours) => {
    const { url, bare } = await route(true);
    const control = await visit(`${bare}/p`);
    for (let n = 0; n < 3; n++) {
      const first = await visit(`${url}/p`);
      const at = first.cookies.join(' | ');
      expect(first.ours, at).toEqual(EXPECTED[ours]);
      expect(first.app, at).toEqual(control.app);
      expect(first.status, at).toBe(control.status);
    }
  });
});

describe('STK I1 a writeHead list: only Set-Cookie is joined, every other name goes to Node as given', () => {
  // Joining every name twice given made `Content-Length: 2, 2` out of a list Node 20 reads
  // last-wins (after an early setHeader, as express's X-Powered-By): the client refused the
  // response. Node 22 refuses such a list itself, with or without graylane.
  it.runIf(NODE_20)('content-length named twice after an early setHeader', async () => {
    const write: NodeWrite = (r) => {
      r.setHeader('x-early', '1');
      r.writeHead(200, ['content-length', '2', 'Content-Length', '2', 'x-a', '1', 'x-a', '2']);
      r.end('ok');
    };
    const gray = await serve('node', [write], true);
    const bare = await serve('node', [write], false);
    const control = await fetch(`${bare.url}/r/0`);
    expect([control.status, await control.text(), control.headers.get('x-a')]).toEqual([
      200,
      'ok',
      '2',
    ]);
    for (let n = 0; n < 3; n++) {
      const res = await fetch(`${gray.url}/r/0`);
      expect([res.status, await res.text(), res.headers.get('x-a')]).toEqual([200, 'ok', '2']);
      expect(res.headers.getSetCookie().length).toBe(2);
    }
  });
});
