import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { getGrayDecision } from '../src/index.js';
import { graylaneFastify } from '../src/adapters/fastify.js';
import { closeAll, listen, type Running } from './helpers.js';

/**
 * REQ-03, fastify's router settings: find-my-way chooses the route by the path after
 * `useSemicolonDelimiter` (the path ends at `;`, and `request.query` is parsed from what follows),
 * `ignoreDuplicateSlashes`, `ignoreTrailingSlash` and `caseSensitive: false`. `path` and `query`
 * rules must see what the route sees: whenever the `/admin` route serves a request, the `/admin`
 * pin decided it; whenever `request.query.tier` is `gold`, the `tier` rule did (or the pin).
 * Requests served elsewhere are not asserted (core matches some spellings more widely).
 */
afterAll(closeAll);

const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'pin', version: 'stable', match: { path: { equals: '/admin' } } },
    { id: 'api', version: 'canary', match: { path: { equals: '/api/admin' } } },
    { id: 'tier', version: 'canary', match: { query: { tier: { equals: 'gold' } } } },
    { id: 'rest', split: [{ version: 'beta', weight: 100 }], bucketBy: 'header:x-user' },
  ],
};

interface Seen {
  readonly route: string;
  readonly ruleId: string;
  readonly query: Record<string, unknown>;
  readonly url: string;
}
const routes = async (app: FastifyInstance) => {
  const seen = (request: FastifyRequest) => ({
    route: request.routeOptions.url ?? '',
    ruleId: getGrayDecision()?.ruleId ?? 'none',
    query: request.query,
    url: request.url,
  });
  app.get('/admin', async (request) => seen(request));
  app.get('/*', async (request) => seen(request));
};

/** fastify 5 honours `routerOptions.useSemicolonDelimiter`; its types do not list it yet. */
type RouterOptions = NonNullable<FastifyServerOptions['routerOptions']>;
const router = (o: Record<string, boolean>) => o as RouterOptions;
type Make = () => Promise<FastifyInstance>;
const plain =
  (options: FastifyServerOptions): Make =>
  async () => {
    const app = Fastify(options);
    await app.register(graylaneFastify, { config });
    await routes(app);
    return app;
  };

const APPS: Record<string, Make> = {
  'default (control)': plain({}),
  useSemicolonDelimiter: plain({ useSemicolonDelimiter: true }),
  'routerOptions.useSemicolonDelimiter': plain({
    routerOptions: router({ useSemicolonDelimiter: true }),
  }),
  'top-level true, routerOptions false (control)': plain({
    useSemicolonDelimiter: true,
    routerOptions: router({ useSemicolonDelimiter: false }),
  }),
  ignoreTrailingSlash: plain({ ignoreTrailingSlash: true }),
  'routerOptions.ignoreTrailingSlash': plain({ routerOptions: { ignoreTrailingSlash: true } }),
  'ignoreTrailingSlash + other routerOptions': plain({
    ignoreTrailingSlash: true,
    routerOptions: { maxParamLength: 200 },
  }),
  ignoreDuplicateSlashes: plain({ ignoreDuplicateSlashes: true }),
  'caseSensitive: false': plain({ caseSensitive: false }),
  'routerOptions.caseSensitive: false': plain({ routerOptions: router({ caseSensitive: false }) }),
  'all four': plain({
    routerOptions: router({
      useSemicolonDelimiter: true,
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      caseSensitive: false,
    }),
  }),
  'rewriteUrl (control)': async () => {
    const app = Fastify({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/old(?=\/)/, '') });
    await app.register(graylaneFastify, { config });
    await routes(app);
    return app;
  },
  "register(routes, { prefix: '/api' }), all four": async () => {
    const app = Fastify({
      routerOptions: router({
        useSemicolonDelimiter: true,
        ignoreTrailingSlash: true,
        ignoreDuplicateSlashes: true,
        caseSensitive: false,
      }),
    });
    await app.register(graylaneFastify, { config });
    await app.register(routes, { prefix: '/api' });
    await routes(app);
    return app;
  },
  "graylane inside register(…, { prefix: '/api' }), useSemicolonDelimiter": async () => {
    const app = Fastify({ useSemicolonDelimiter: true });
    await app.register(
      async (api) => {
        await api.register(graylaneFastify, { config });
        await routes(api);
      },
      { prefix: '/api' },
    );
    return app;
  },
};

const TARGETS = [
  '/admin',
  '/admin/',
  '/admin//',
  '//admin',
  '///admin',
  '/ADMIN',
  '/Admin/',
  '/%41dmin',
  '/%61dmin',
  '/adm%49n',
  '/admin;',
  '/admin;jsessionid=1',
  '/admin;x/',
  '/admin/;x',
  '//admin;x',
  '/ADMIN;x',
  '/admin;a=1;b=2',
  '/admin;tier=gold',
  '/admin;x=1?y=2',
  '/admin;x#f',
  '/admin?tier=gold',
  '/x;tier=gold',
  '/x;tier=gold?y=1',
  '/x;a=1&tier=gold',
  '/x;tier=gold#f',
  '/x/;tier=gold',
  '/x?tier=gold',
  '/x?a=1;tier=gold',
  '/x?tier=gold;a=1',
  '/x?tier=gold&tier=gold',
  '/old/admin',
  '/old/admin;x',
  '/api/admin',
  '/api/admin/',
  '/api//admin',
  '/API/Admin',
  '/api/admin;x',
  '/api/ADMIN;tier=gold',
  '/api;x/admin',
  '/x/../admin',
  '/admin/.',
  '/admin%2F',
  '/admin%3Bx',
  'http://h/admin;x',
  'http://h//ADMIN/',
];

const running = new Map<string, Promise<Running>>();
const app = (name: string) => {
  let r = running.get(name);
  if (r === undefined)
    running.set(
      name,
      (r = (async () => {
        const a = await (APPS[name] as Make)();
        await a.ready();
        return listen(a.server);
      })()),
    );
  return r;
};

/** GET `target` as written (no client normalisation). */
function get(s: Running, target: string): Promise<Seen | number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: s.port,
        path: target,
        headers: { connection: 'close', 'x-user': 'u1' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve(res.statusCode === 200 ? (JSON.parse(body) as Seen) : (res.statusCode ?? 0)),
        );
      },
    );
    req.on('error', reject);
  });
}

/**
 * The rules that may have decided what the route saw (the pins come first: a path rule may take a
 * `tier=gold` request for a path with no route of its own), or undefined when none is implied.
 */
function implied(got: Seen): readonly string[] | undefined {
  if (got.route === '/admin') return ['pin'];
  if (got.route === '/api/admin') return ['api'];
  if (got.query['tier'] === 'gold') return ['tier', 'pin', 'api'];
  return undefined;
}

describe('REQ-03 fastify: path and query rules see what the route sees', () => {
  // One row per app, over every spelling; the apps named controls change nothing of the path.
  it.each(Object.keys(APPS))('%s: every spelling is decided as its route sees it', async (name) => {
    const s = await app(name);
    const wrong: string[] = [];
    let asserted = 0;
    for (const target of TARGETS) {
      const got = await get(s, target);
      if (typeof got === 'number') continue; // served by nobody
      const rules = implied(got);
      if (rules === undefined) continue;
      asserted++;
      if (!rules.includes(got.ruleId)) wrong.push(`${target} → ${got.route} by ${got.ruleId}`);
    }
    expect(wrong).toEqual([]);
    expect(asserted).toBeGreaterThan(2);
  });
});

describe('REQ-03 fastify: what each router setting serves where (the premise of the rows)', () => {
  /** [app, target, the route and the query the route sees] */
  const CASES: Array<readonly [string, string, string, Record<string, string>]> = [
    ['useSemicolonDelimiter', '/admin;tier=gold', '/admin', { tier: 'gold' }],
    ['useSemicolonDelimiter', '/x;tier=gold', '/*', { tier: 'gold' }],
    ['useSemicolonDelimiter', '/x;a=1?tier=gold', '/*', { a: '1?tier=gold' }],
    ['default (control)', '/x;tier=gold', '/*', {}],
    ['top-level true, routerOptions false (control)', '/admin;x', '/*', {}],
    ['ignoreTrailingSlash', '/admin/', '/admin', {}],
    ['ignoreDuplicateSlashes', '//admin', '/admin', {}],
    ['caseSensitive: false', '/ADMIN', '/admin', {}],
    ['caseSensitive: false', '/%41dmin', '/admin', {}],
    ['all four', '//ADMIN/;tier=gold', '/admin', { tier: 'gold' }],
  ];
  it.each(CASES)(
    'premise (control): %s: GET %s is served by %s',
    async (name, target, route, query) => {
      const got = await get(await app(name), target);
      expect(got).toMatchObject({ route, query });
    },
  );

  it('the router option that wins is read: top-level true, routerOptions false does not split', async () => {
    const s = await app('top-level true, routerOptions false (control)');
    expect(await get(s, '/admin;x')).toMatchObject({ route: '/*', ruleId: 'rest' });
    expect(await get(s, '/admin;tier=gold')).toMatchObject({ route: '/*', ruleId: 'rest' });
  });

  it('control: rules match the path as it came where the router changes nothing', async () => {
    const s = await app('default (control)');
    expect(await get(s, '/admin/')).toMatchObject({ route: '/*', ruleId: 'rest' });
    expect(await get(s, '/x;tier=gold')).toMatchObject({ route: '/*', ruleId: 'rest' });
    expect(await get(s, '/x?a=1;tier=gold')).toMatchObject({ ruleId: 'rest' });
  });
});
