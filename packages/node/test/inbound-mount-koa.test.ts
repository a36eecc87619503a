import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import Koa from 'koa';
import mount from 'koa-mount';
import Router from '@koa/router';
import { getGrayDecision } from '../src/index.js';
import { graylaneKoa } from '../src/adapters/koa.js';
import { closeAll, listen, type Running } from './helpers.js';

/** Any koa middleware (koa-mount's, @koa/router's and koa's own types differ in their generics). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type Middleware = (ctx: any, next: () => Promise<any>) => unknown;

/**
 * REQ-03 under koa-mount: `app.use(mount('/api', sub))` hands `sub` (and graylane in it) `ctx.path`
 * without `/api`, so a `path` rule for `/api/v2/` was skipped for `/api/v2/x`. graylane reads the
 * prefix back (`ctx.originalUrl`, `ctx.mountPath`): a request is matched as the path the client
 * asked for wherever graylane is mounted; a rewrite before graylane (`ctx.url`, `ctx.path`) counts.
 * The oracle for every spelling is graylane at the root on the same request.
 */
afterAll(closeAll);

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'v2', version: 'beta', match: { path: { prefix: '/api/v2/' } } },
    { id: 'exact', version: 'beta', match: { path: { equals: '/api/exact' } } },
    { id: 'bare', version: 'beta', match: { path: { equals: '/api' } } },
  ],
};

/** The answer: the rule that decided, what the app's code saw, where it was served (`unmet`: by no graylane). */
const answer =
  (where: string): Middleware =>
  (ctx) => {
    const met = getGrayDecision() !== undefined;
    ctx.body = {
      ruleId: getGrayDecision()?.ruleId ?? 'none',
      path: ctx.path,
      where: met ? where : 'unmet',
    };
  };
/** A sub-app with graylane, answering as `where`. */
const sub = (where = 'sub') => {
  const app = new Koa();
  app.use(graylaneKoa({ config }));
  app.use(answer(where));
  return app;
};
/** An app: `middleware`, then the answer. */
const appAs = (where: string, ...middleware: Middleware[]) => {
  const a = new Koa();
  for (const m of middleware) a.use(m);
  a.use(answer(where));
  return a;
};
const app = (...middleware: Middleware[]) => appAs('root', ...middleware);
/** A @koa/router router with graylane as router middleware, answering every path under it. */
const routed = (prefix: string | undefined, where: string) => {
  const router = new Router(prefix === undefined ? {} : { prefix });
  router.use(graylaneKoa({ config }));
  router.get('/{*rest}', answer(where));
  router.get('/', answer(where));
  return router;
};

interface Shape {
  readonly make: () => Koa;
  /** The koa-mount prefixes in front of graylane, outermost first. */
  readonly mounts: readonly string[];
  /**
   * Graylane already saw the whole path here (a control); which paths @koa/router hands its
   * middleware is not modelled: those rows expect the root's rule where graylane ran.
   */
  readonly control?: boolean;
}
const SHAPES: Record<string, Shape> = {
  'at the root': { make: () => app(graylaneKoa({ config })), mounts: [], control: true },
  "mount('/api', sub-app)": { make: () => app(mount('/api', sub())), mounts: ['/api'] },
  "mount('/api', graylane) then the root": {
    make: () => appAs('after', mount('/api', graylaneKoa({ config }))),
    mounts: ['/api'],
  },
  "mount('/api/', sub-app)": { make: () => app(mount('/api/', sub())), mounts: ['/api/'] },
  "nested mount('/api', mount('/v2', sub-app))": {
    make: () => {
      const outer = new Koa();
      outer.use(mount('/v2', sub()));
      outer.use(answer('outer'));
      return app(mount('/api', outer));
    },
    mounts: ['/api', '/v2'],
  },
  "mount('/api', sub-app with a @koa/router router)": {
    make: () => {
      const s = new Koa();
      s.use(routed(undefined, 'sub').routes());
      return app(mount('/api', s));
    },
    mounts: ['/api'],
  },
  "@koa/router prefix '/api'": {
    make: () => app(routed('/api', 'sub').routes()),
    mounts: [],
    control: true,
  },
  "@koa/router '/api' → nested '/v2'": {
    make: () => {
      const outer = new Router({ prefix: '/api' });
      outer.use('/v2', routed(undefined, 'sub').routes());
      return app(outer.routes());
    },
    mounts: [],
    control: true,
  },
};

/** The path koa routes `target` by (`ctx.path`): origin form, up to the first `?` or `#`. */
const koaPath = (target: string) => /^(?:[a-z]+:\/\/[^/]*)?([^?#]*)/.exec(target)?.[1] ?? '';
/** koa-mount's own test, prefix after prefix: whether `target` reaches what the shape mounts. */
function reaches(shape: Shape, target: string): boolean {
  let path = koaPath(target);
  for (const prefix of shape.mounts) {
    if (!path.startsWith(prefix)) return false;
    const rest = path.slice(prefix.length);
    if (!prefix.endsWith('/') && rest !== '' && !rest.startsWith('/')) return false;
    path = rest === '' ? '/' : rest;
  }
  return true;
}

/** [target, the rule when graylane sees it] (as express's mount rows, inbound-mount.test.ts) */
const PATHS: Array<readonly [string, string]> = [
  ['/api/v2/x', 'v2'],
  ['/api/v2/x?y=1', 'v2'],
  ['/api/v2/a/b/c', 'v2'],
  ['/api/exact', 'exact'],
  ['/api/exact?q=1', 'exact'],
  ['/api/v1/x', 'none'],
  ['/api/v2', 'none'],
  ['/api/v2/', 'v2'],
  ['/api/v2/?q=1', 'v2'],
  ['/api/v2?q=/', 'none'],
  ['/api', 'bare'],
  ['/api?q=/v2/', 'bare'],
  ['/api/', 'none'],
  ['/api/exactly', 'none'],
];

/** Other spellings, and how graylane at the root decides them: so wherever it is mounted. */
const SPELLINGS: Array<readonly [string, string]> = [
  ['/api/%76%32/x', 'v2'],
  ['/api/v2/%78', 'v2'],
  ['/api//v2/x', 'none'],
  ['/api/v2//x', 'v2'],
  ['/api/x/../v2/y', 'v2'],
  ['/api/./v2/x', 'v2'],
  ['/api/v2/x/..', 'v2'],
  ['/api/v2/x#f', 'v2'],
  ['/api/v2/x?a=1#f?b=2', 'v2'],
  ['/api/exact/', 'none'],
  ['/api/exact;x=1', 'none'],
  ['/api/v2;x/y', 'none'],
  ['/api/v2/x;y?z=1;w', 'v2'],
  ['/api\\v2\\x', 'v2'],
  ['/api/v2\\x', 'v2'],
  ['/API/v2/x', 'none'],
  ['/api/V2/x', 'none'],
  ['/apiv2/x', 'none'],
  ['/api%2Fv2/x', 'none'],
  ['/other/api/v2/x', 'none'],
  ['/api/api/v2/x', 'none'],
  ['/api/v2/v2/x', 'v2'],
  ['http://h/api/v2/x?y=1', 'v2'],
];

const servers = new Map<string, Promise<Running>>();
const server = (name: string) => {
  let s = servers.get(name);
  if (!s)
    servers.set(name, (s = listen(http.createServer((SHAPES[name] as Shape).make().callback()))));
  return s;
};

interface Seen {
  readonly ruleId: string;
  readonly path: string;
  readonly where: string;
}
/** GET `target` as written (no client normalisation of dots, slashes or `#`). */
function get(s: Running, target: string): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: s.port, path: target, headers: { connection: 'close' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as Seen);
          } catch {
            resolve({ ruleId: `status ${res.statusCode}`, path: '', where: 'nobody' });
          }
        });
      },
    );
    req.on('error', reject);
  });
}

/**
 * Every shape × every target: the rule expected where graylane sees it (none where the request
 * does not reach graylane). A row is named a control where graylane saw the whole path before
 * (the root, @koa/router) or no rule is expected.
 */
const rows = Object.entries(SHAPES).flatMap(([shape, s]) =>
  [...PATHS, ...SPELLINGS].map(([target, rule]) => {
    const expected = reaches(s, target) ? rule : 'none';
    const control = s.control === true || expected === 'none' ? 'control: ' : '';
    return { name: `${control}${shape}: ${target} → ${expected}`, shape, target, rule, expected };
  }),
);

describe('REQ-03 koa: path rules see the path the client asked for', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const { shape, target, expected } = row;
    const s = SHAPES[shape] as Shape;
    const got = await get(await server(shape), target);
    const met = got.where !== 'unmet' && got.where !== 'nobody';
    if (s.control && s.mounts.length === 0 && shape !== 'at the root') {
      expect(got.ruleId).toBe(met ? row.rule : 'none');
      return;
    }
    expect(got.ruleId).toBe(expected);
    // The premise: a request reaches graylane exactly where koa-mount takes it.
    expect(met).toBe(reaches(s, target));
  });

  it('premise: koa-mount hands the sub-app the path below the mount', async () => {
    const s = await server("mount('/api', sub-app)");
    expect(await get(s, '/api/v2/x?y=1')).toEqual({ ruleId: 'v2', path: '/v2/x', where: 'sub' });
  });
});

describe('REQ-03 koa: a rewrite before graylane counts', () => {
  /** `ctx.path` rewritten from `/old/…` to `to` + the rest. */
  const rewrite =
    (to: string): Middleware =>
    async (ctx, next) => {
      if (ctx.path.startsWith('/old/')) ctx.path = to + ctx.path.slice(5);
      await next();
    };
  const url =
    (to: string): Middleware =>
    async (ctx, next) => {
      if (ctx.path.startsWith('/old/')) ctx.url = to + ctx.url.slice(5);
      await next();
    };
  /** A sub-app without graylane that passes everything on (koa-mount restores the path). */
  const passThrough = () => {
    const s = new Koa();
    s.use(async (_ctx, next) => next());
    return s;
  };
  const CASES: Array<readonly [string, () => Koa, string, string]> = [
    [
      'control: at the root, ctx.path',
      () => app(rewrite('/api/v2/'), graylaneKoa({ config })),
      '/old/x',
      'v2',
    ],
    [
      'control: at the root, ctx.url',
      () => app(url('/api/v2/'), graylaneKoa({ config })),
      '/old/x?q=1',
      'v2',
    ],
    [
      'control: at the root, a prefix stripped',
      () => app(rewrite('/'), graylaneKoa({ config })),
      '/old/api/v2/x',
      'v2',
    ],
    [
      'control: at the root, a prefix stripped off /api/v2/',
      () => app(rewrite('/'), graylaneKoa({ config })),
      '/old/x',
      'none',
    ],
    [
      "before mount('/api', sub-app)",
      () => app(rewrite('/api/v2/'), mount('/api', sub())),
      '/old/x',
      'v2',
    ],
    [
      "before mount('/api', sub-app), ctx.url",
      () => app(url('/api/v2/'), mount('/api', sub())),
      '/old/x?q=1',
      'v2',
    ],
    [
      "before mount('/api', sub-app), to the mount path",
      () => app(rewrite('/api/'), mount('/api', sub())),
      '/old/v2/x',
      'v2',
    ],
    [
      "before mount('/api/', sub-app)",
      () => app(rewrite('/api/v2/'), mount('/api/', sub())),
      '/old/x',
      'v2',
    ],
    [
      "inside mount('/api', sub-app)",
      () => {
        const s = new Koa();
        s.use(rewrite('/v2/'));
        s.use(graylaneKoa({ config }));
        s.use(answer('sub'));
        return app(mount('/api', s));
      },
      '/api/old/x',
      'v2',
    ],
    [
      'control: a mount left before graylane at the root',
      () => app(mount('/api', passThrough()), graylaneKoa({ config })),
      '/api/v2/x',
      'v2',
    ],
    [
      'control: a mount left, after a rewrite into it, before graylane at the root',
      () => app(rewrite('/api/v2/'), mount('/api', passThrough()), graylaneKoa({ config })),
      '/old/x',
      'v2',
    ],
    [
      'control: a mount left, after a rewrite out of /api/v2/',
      () => app(rewrite('/api/'), mount('/api', passThrough()), graylaneKoa({ config })),
      '/old/x',
      'none',
    ],
  ];
  it.each(CASES)('%s', async (_name, make, target, rule) => {
    const s = await listen(http.createServer(make().callback()));
    expect((await get(s, target)).ruleId).toBe(rule);
  });
});
