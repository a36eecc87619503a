import http from 'node:http';
import querystring from 'node:querystring';
import { afterAll, describe, expect, it } from 'vitest';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';

/** fastify 5's types lack some router settings it honours (`useSemicolonDelimiter` there). */
const options = (o: object) => o as FastifyServerOptions;
import express from 'express';
import Koa from 'koa';
import mount from 'koa-mount';
import { getGrayDecision } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { graylaneFastify, graylaneFastifyStats } from '../src/adapters/fastify.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { closeAll, listen, rawBody, rawRequest, type Running } from './helpers.js';

/**
 * Review 113: D1 (edge mode, a `;gray=…` spelling travelling to a next hop that splits at `;`),
 * D2 (fastify `caseSensitive: false` lower-cases the decoded path), D3 (edge mode, a custom
 * `querystringParser`), D4 (fastify 4 given `routerOptions`), D5b (koa: a stale `ctx.mountPath`),
 * D6 (throwing decorations and options), and the stats of two registrations.
 */
afterAll(closeAll);

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'pin', version: 'stable', match: { path: { equals: '/admin' } } }],
};

const get = async (port: number, target: string) =>
  rawBody(
    await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 3000),
  ) as Record<string, unknown>;

/** The next hop: splits at `;` (fastify 4's default), optionally parses `;` in the query too. */
async function innerHop(semicolonQuery: boolean): Promise<Running> {
  const opts = options({
    routerOptions: {
      useSemicolonDelimiter: true,
      ...(semicolonQuery
        ? { querystringParser: (s: string) => querystring.parse(s.replaceAll(';', '&')) }
        : {}),
    },
  });
  const app = Fastify(opts);
  // What the hop's own parser finds, before its graylane (open, a rejected marker goes) cleans it.
  const parsed = new WeakMap<object, unknown>();
  app.addHook('onRequest', (request, _reply, done) => {
    parsed.set(request.raw, { ...(request.query as object) });
    done();
  });
  await app.register(graylaneFastify, { config, trust: 'open' });
  app.get('/*', async (request) => ({
    version: getGrayDecision()?.version,
    query: parsed.get(request.raw),
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return { port, close: () => app.close() } as unknown as Running;
}

/** Forwards `url` (what the edge left in `req.url`) to the inner hop, as a proxy does. */
function forward(port: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = http.get({ host: '127.0.0.1', port, path: url }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    r.on('error', reject);
  });
}

type Edge = (trust: 'edge' | 'open' | 'signed', inner: number) => Promise<number>;
const fastifyEdge =
  (opts: FastifyServerOptions): Edge =>
  async (trust, inner) => {
    const app = Fastify(opts);
    await app.register(graylaneFastify, { config, trust, ...keysFor(trust) });
    app.get('/*', async (request, reply) => {
      reply.type('application/json');
      return forward(inner, request.url);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    afterAllClose(app);
    return (app.server.address() as { port: number }).port;
  };
const expressEdge: Edge = async (trust, inner) => {
  const app = express();
  app.use(graylaneExpress({ config, trust, ...keysFor(trust) }));
  app.use((req, res) => {
    void forward(inner, req.url).then((b) => res.type('json').send(b));
  });
  return (await listen(http.createServer(app))).port;
};
const koaEdge: Edge = async (trust, inner) => {
  const app = new Koa();
  app.use(graylaneKoa({ config, trust, ...keysFor(trust) }));
  app.use(async (ctx) => {
    ctx.type = 'json';
    ctx.body = await forward(inner, ctx.req.url ?? '/');
  });
  return (await listen(http.createServer(app.callback()))).port;
};
/** Signed mode needs its keys (a bare label is then a marker it does not honour). */
const keysFor = (trust: string) =>
  trust === 'signed' ? { keys: { k1: 'a-signing-key-of-enough-length-0123456789' } } : {};
const closers: FastifyInstance[] = [];
function afterAllClose(app: FastifyInstance) {
  closers.push(app);
}
afterAll(async () => {
  for (const app of closers) await app.close();
});

const EDGES: [string, Edge][] = [
  [
    'fastify useSemicolonDelimiter',
    fastifyEdge(options({ routerOptions: { useSemicolonDelimiter: true } })),
  ],
  ['fastify (no ; split)', fastifyEdge({})],
  ['express', expressEdge],
  ['koa', koaEdge],
];
const PATH_TARGETS = [
  '/x;gray=beta',
  '/x;a=1;gray=beta',
  '/x;gray=beta;a=1',
  '/x;a=1&gray=beta',
  '/x;gray=beta?a=1',
  '/x;%67ray=beta',
  '/x;gr%61y=beta',
  '/x;gray=beta/y',
  '/x/y;gray=beta',
  '/x;a/y&gray=beta',
  '/x;gray=stable;gray=beta',
  'http://h/x;gray=beta',
];
const QUERY_TARGETS = ['/x?a=1;gray=beta', '/x?a=1;%67ray=beta&b=2', '/x;a=1?b=2;gray=beta'];

describe('review 113 D1: edge mode, no `;gray=` spelling reaches a next hop that splits at `;`', () => {
  for (const [name, make] of EDGES) {
    it.each([...PATH_TARGETS, ...QUERY_TARGETS].map((t) => [t, true]))(
      `${name}: %s`,
      async (target, semicolonQuery) => {
        const inner = await innerHop(semicolonQuery as boolean);
        try {
          const port = await make('edge', inner.port);
          const seen = await get(port, target as string);
          expect(seen['version']).toBe('stable');
          expect(seen['query']).not.toHaveProperty('gray');
        } finally {
          await inner.close();
        }
      },
    );
    // Review 116 D3: signed mode removes a bare label it does not honour from `;` spellings too.
    it.each(['/x;gray=beta', '/x;a=1&gray=beta', '/x?a=1;gray=beta'])(
      `${name}, signed mode: %s`,
      async (target) => {
        const inner = await innerHop(true);
        try {
          const port = await make('signed', inner.port);
          const seen = await get(port, target);
          expect(seen['version']).toBe('stable');
          expect(seen['query']).not.toHaveProperty('gray');
        } finally {
          await inner.close();
        }
      },
    );
    it(`${name}: control, open mode forwards the marker untouched`, async () => {
      const inner = await innerHop(false);
      try {
        const port = await make('open', inner.port);
        expect((await get(port, '/x;gray=beta'))['query']).toMatchObject({ gray: 'beta' });
      } finally {
        await inner.close();
      }
    });
  }
});

async function fastifyApp(opts: FastifyServerOptions, trust: 'edge' | 'open' = 'open') {
  const app = Fastify(opts);
  await app.register(graylaneFastify, { config, trust });
  const seen = (request: FastifyRequest) => ({
    route: request.routeOptions.url,
    version: getGrayDecision()?.version,
    rule: getGrayDecision()?.ruleId,
    query: request.query,
    url: request.url,
  });
  app.get('/admin', async (r) => seen(r));
  app.get('/*', async (r) => seen(r));
  await app.listen({ port: 0, host: '127.0.0.1' });
  afterAllClose(app);
  return (app.server.address() as { port: number }).port;
}

describe('review 113 D2: caseSensitive false reads the path find-my-way decodes and lower-cases', () => {
  const variants: FastifyServerOptions[] = [
    { routerOptions: { caseSensitive: false } },
    { routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } },
  ];
  const targets = ['/ADMIN', '/%41DMIN', '/Admin'];
  // KELVIN SIGN lower-cases to `k`: a route with a k.
  it.each([
    ['/chec%E2%84%AAout', true],
    ['/CHEC%E2%84%AAOUT', true],
    ['/chec%e2%84%aaout', true],
    ['/%E2%84%AAitchen/../checkout', false], // control: not served by /checkout
    ['/chec%E2%84%AAout/', true],
    ['/checkout', true], // control
  ])('%s reaches the /checkout pin', async (target, newRow) => {
    let hits = 0;
    for (const opts of variants) {
      const app = Fastify(opts);
      await app.register(graylaneFastify, {
        config: {
          ...config,
          default: 'beta',
          rules: [{ id: 'pin', version: 'stable', match: { path: { equals: '/checkout' } } }],
        },
      });
      app.get('/checkout', async (r) => ({
        route: r.routeOptions.url,
        rule: getGrayDecision()?.ruleId,
      }));
      app.get('/*', async (r) => ({ route: r.routeOptions.url, rule: getGrayDecision()?.ruleId }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      afterAllClose(app);
      const seen = await get((app.server.address() as { port: number }).port, target);
      if (seen['route'] === '/checkout') {
        expect(seen['rule']).toBe('pin');
        hits++;
      }
    }
    // Rows marked true are served by /checkout under at least one of the settings.
    expect(hits > 0).toBe(newRow);
  });
  it.each(targets)('control: %s is the /admin pin', async (target) => {
    const port = await fastifyApp({ routerOptions: { caseSensitive: false } });
    expect(await get(port, target)).toMatchObject({ route: '/admin', rule: 'pin' });
  });
});

describe('review 113 D3: edge mode, whatever querystringParser, request.query has no marker', () => {
  const splitSemi = (s: string) => querystring.parse(s.replaceAll(';', '&'));
  const lower = (s: string) =>
    Object.fromEntries([...new URLSearchParams(s)].map(([k, v]) => [k.toLowerCase(), v]));
  it.each([
    ['top-level ; parser', { querystringParser: splitSemi }, '/x?a=1;gray=beta'],
    [
      'routerOptions ; parser',
      { routerOptions: { querystringParser: splitSemi } },
      '/x?a=1;gray=beta',
    ],
    ['lower-casing parser', { routerOptions: { querystringParser: lower } }, '/x?GRAY=beta'],
    [
      'lower-casing parser, escaped',
      { routerOptions: { querystringParser: lower } },
      '/x?%47RAY=beta',
    ],
    [
      'lower-casing, ; split',
      options({ routerOptions: { useSemicolonDelimiter: true, querystringParser: lower } }),
      '/x;GRAY=beta',
    ],
  ] as [string, FastifyServerOptions, string][])('%s: %s', async (_name, opts, target) => {
    const port = await fastifyApp(opts, 'edge');
    const seen = await get(port, target);
    expect(seen['version']).toBe('stable');
    expect(seen['query']).not.toHaveProperty('gray');
  });
});

describe('review 113 D4: fastify 4 given routerOptions (structural: it ignores them)', () => {
  it('the top-level settings count when routerOptions was not built by fastify 5', async () => {
    const app = Fastify(options({ routerOptions: { useSemicolonDelimiter: true } }));
    // fastify 4: its options keep `routerOptions` as the app passed it (no defaultRoute), and
    // `initialConfig` says useSemicolonDelimiter (default true there).
    const key = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.options');
    expect(key).toBeDefined();
    Object.defineProperty(app, key as symbol, {
      value: { routerOptions: { maxParamLength: 200 } },
    });
    Object.defineProperty(app, 'initialConfig', { value: { useSemicolonDelimiter: true } });
    await app.register(graylaneFastify, { config: { ...config, default: 'beta' } });
    app.get('/admin', async () => ({ rule: getGrayDecision()?.ruleId }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    afterAllClose(app);
    expect(
      await get((app.server.address() as { port: number }).port, '/admin;jsessionid=1'),
    ).toEqual({ rule: 'pin' });
  });
});

describe('review 113 D5b: koa, a mount passed through earlier leaves ctx.mountPath', () => {
  it.each([
    ['/old', '/old/admin'],
    ['/old', '/old/admin?x=1'],
    ['/old/', '/old/admin'],
  ])(
    'mount(%s) passthrough, root rewrite, graylane at the root: %s is the pin',
    async (prefix, target) => {
      const app = new Koa();
      app.use(mount(prefix, (_ctx: Koa.Context, next: Koa.Next) => next()));
      app.use((ctx, next) => {
        if (ctx.path.startsWith('/old/')) ctx.path = ctx.path.slice(4);
        return next();
      });
      app.use(graylaneKoa({ config: { ...config, default: 'beta' } }));
      app.use((ctx) => {
        ctx.body = { path: ctx.path, rule: getGrayDecision()?.ruleId };
      });
      const { port } = await listen(http.createServer(app.callback()));
      expect(await get(port, target)).toEqual({ path: '/admin', rule: 'pin' });
    },
  );
});

describe('review 113 D6: throwing reads never throw out of the adapters', () => {
  it.each(['cookies', 'query'])('fastify: a request decoration %s that throws', async (name) => {
    const app = Fastify();
    app.addHook('onRequest', (request, _reply, done) => {
      Object.defineProperty(request, name, {
        configurable: true,
        get() {
          throw new Error('boom');
        },
      });
      done();
    });
    await app.register(graylaneFastify, { config, trust: 'edge' });
    app.get('/*', async () => ({ version: getGrayDecision()?.version }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    afterAllClose(app);
    const port = (app.server.address() as { port: number }).port;
    const response = await rawRequest(
      port,
      'GET /x?gray=beta HTTP/1.1\r\nHost: x\r\nCookie: gray=beta\r\nConnection: close\r\n\r\n',
      3000,
    );
    expect(rawBody(response)).toEqual({ version: 'stable' });
  });
  it.each(['initialConfig (control)', 'routerOptions'])(
    'fastify: a throwing %s getter',
    (where) => {
      const options = { routerOptions: {} as Record<string, unknown> };
      Object.defineProperty(options.routerOptions, 'defaultRoute', { value: () => undefined });
      Object.defineProperty(options.routerOptions, 'useSemicolonDelimiter', {
        get() {
          throw new Error('boom');
        },
      });
      const instance = {
        addHook: () => undefined,
        get initialConfig(): unknown {
          throw new Error('boom');
        },
        ...(where === 'routerOptions' ? { [Symbol('fastify.options')]: options } : {}),
      };
      let err: unknown = 'not called';
      expect(() =>
        graylaneFastify(instance, { config }, (e) => {
          err = e;
        }),
      ).not.toThrow();
      expect(err).toBeUndefined();
    },
  );
  it.each(['mountPath', 'request'])('koa: ctx.%s that throws', async (name) => {
    // Armed inside the mount, around graylane only (koa and koa-mount read them too).
    const arm = async (ctx: Koa.Context, next: Koa.Next) => {
      let value: unknown = (ctx as unknown as Record<string, unknown>)[name];
      let armed = true;
      Object.defineProperty(ctx, name, {
        configurable: true,
        get() {
          if (armed) throw new Error('boom');
          return value;
        },
        set(v: unknown) {
          value = v;
        },
      });
      await gray(ctx, async () => {
        armed = false;
        await next();
      });
    };
    const gray = graylaneKoa({ config, trust: 'edge' });
    const app = new Koa();
    app.use(
      mount('/api', (ctx: Koa.Context, next: Koa.Next) =>
        arm(ctx, async () => {
          ctx.body = getGrayDecision()?.version;
          await next();
        }),
      ),
    );
    const { port } = await listen(http.createServer(app.callback()));
    const response = await rawRequest(
      port,
      'GET /api/x?gray=beta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      3000,
    );
    expect(response.split(' ')[1]).toBe('200');
    expect(response.endsWith('stable')).toBe(true);
  });
});

describe('review 113: two registrations on one app', () => {
  it('graylaneFastifyStats counts the last registration (whose decision the routes see)', async () => {
    const app = Fastify();
    await app.register(graylaneFastify, { config });
    await app.register(graylaneFastify, { config, trust: 'edge' });
    app.get('/b', async () => ({ version: getGrayDecision()?.version }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    afterAllClose(app);
    expect(await get((app.server.address() as { port: number }).port, '/b?gray=beta')).toEqual({
      version: 'stable',
    });
    expect(graylaneFastifyStats(app)().decisions).toEqual([
      expect.objectContaining({ version: 'stable', source: 'default', count: 1 }),
    ]);
  });
});
