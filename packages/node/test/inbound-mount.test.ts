import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import express from 'express';
import express4 from 'express4';
import { getGrayDecision } from '../src/index.js';
import { graylaneExpress } from '../src/adapters/express.js';
import { closeAll, listen, type Running } from './helpers.js';

/**
 * REQ-03, the mount path: express hands a middleware mounted at `/api` (directly, or inside a
 * router mounted there, at any depth) `req.url` without the mount path. A `path` rule names the
 * path the client asked for, so graylane reads the mount path back (`req.baseUrl`): a request
 * for `/api/v2/x` is matched as `/api/v2/x` wherever graylane is mounted. Rewrites done before
 * graylane still count (it reads `req.url`, not `originalUrl`).
 */
afterAll(closeAll);

const config = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'v2', version: 'beta', match: { path: { prefix: '/api/v2/' } } },
    { id: 'exact', version: 'beta', match: { path: { equals: '/api/exact' } } },
  ],
};

type Express = typeof express;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const answer: Handler = (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ruleId: getGrayDecision()?.ruleId ?? 'none', url: req.url }));
};

/** How graylane is mounted; every shape serves `/api/...` and `/other/...`. */
const SHAPES: Record<string, (e: Express) => ReturnType<Express>> = {
  'at the root': (e) => {
    const app = e();
    app.use(graylaneExpress({ config }));
    app.use(answer);
    return app;
  },
  "app.use('/api', graylane)": (e) => {
    const app = e();
    app.use('/api', graylaneExpress({ config }));
    app.use(answer);
    return app;
  },
  "a router mounted at '/api'": (e) => {
    const app = e();
    const router = e.Router();
    router.use(graylaneExpress({ config }));
    router.use(answer);
    app.use('/api', router);
    app.use(answer);
    return app;
  },
  "nested routers '/api' → '/v2'": (e) => {
    const app = e();
    const outer = e.Router();
    const inner = e.Router();
    inner.use(graylaneExpress({ config }));
    inner.use(answer);
    outer.use('/v2', inner);
    outer.use(answer);
    app.use('/api', outer);
    app.use(answer);
    return app;
  },
  "a sub-app mounted at '/api'": (e) => {
    const app = e();
    const sub = e();
    sub.use(graylaneExpress({ config }));
    sub.use(answer);
    app.use('/api', sub);
    app.use(answer);
    return app;
  },
  "app.use(['/api', '/alt'], graylane)": (e) => {
    const app = e();
    app.use(['/api', '/alt'], graylaneExpress({ config }));
    app.use(answer);
    return app;
  },
};

/** [path, the rule that must decide it where graylane sees it] */
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
  ['/api', 'none'],
  ['/api/', 'none'],
  ['/api/exactly', 'none'],
];

const servers = new Map<string, Promise<Running>>();
function server(name: string, e: Express, shape: (e: Express) => ReturnType<Express>) {
  let s = servers.get(name);
  if (!s) servers.set(name, (s = listen(http.createServer(shape(e)))));
  return s;
}

async function get(base: string, path: string): Promise<{ ruleId: string; url: string }> {
  const res = await fetch(base + path);
  return (await res.json()) as { ruleId: string; url: string };
}

describe.each([
  ['express 5', express],
  ['express 4', express4 as unknown as Express],
] as const)('REQ-03 %s: path rules see the mount path', (version, e) => {
  it.each(
    Object.keys(SHAPES).flatMap((shape) => PATHS.map(([path, rule]) => ({ shape, path, rule }))),
  )('$shape: $path is decided by $rule', async ({ shape, path, rule }) => {
    // The nested shape sees only what is under /api/v2; the rest reaches it undecided.
    const expected = shape.startsWith('nested') && !path.startsWith('/api/v2/') ? 'none' : rule;
    const s = await server(`${version} ${shape}`, e, SHAPES[shape] as never);
    expect((await get(s.url, path)).ruleId).toBe(expected);
  });

  it('the second mount path of a path array is read as such', async () => {
    const s = await server(
      `${version} app.use(['/api', '/alt'], graylane)`,
      e,
      SHAPES["app.use(['/api', '/alt'], graylane)"] as never,
    );
    // Rules name /api/...: the same resource under /alt is its own path.
    expect((await get(s.url, '/alt/v2/x')).ruleId).toBe('none');
    expect((await get(s.url, '/api/v2/x')).ruleId).toBe('v2');
  });

  it('control: a rewrite before graylane at the root counts (req.url, not originalUrl)', async () => {
    const app = e();
    app.use((req, _res, next) => {
      if (req.url.startsWith('/old/')) req.url = `/api/v2/${req.url.slice(5)}`;
      next();
    });
    app.use(graylaneExpress({ config }));
    app.use(answer);
    const s = await listen(http.createServer(app));
    expect(await get(s.url, '/old/x')).toEqual({ ruleId: 'v2', url: '/api/v2/x' });
  });

  it('control: the app still sees req.url relative to its mount (graylane changes no URL)', async () => {
    const s = await server(
      `${version} app.use('/api', graylane)`,
      e,
      SHAPES["app.use('/api', graylane)"] as never,
    );
    expect(await get(s.url, '/api/v2/x?y=1')).toEqual({ ruleId: 'v2', url: '/api/v2/x?y=1' });
  });
});
