/**
 * AST-27 a miss that depends on the lane is never stored by a shared cache (review 173 D1). A
 * file one lane's build has and another's lacks (`flags.json` only in beta) was handed to
 * `next()` for the other lane's visitors, or answered by the handler's own 404, with no `Vary`
 * and no `Cache-Control`: a CDN (CloudFront keeps such a 404 for 10 s, nginx with
 * `proxy_cache_valid 404`) stored it and served it to the next beta visitor. Now any path another
 * lane's build has is answered 404 by the gateway itself, `private, no-store` with the lane's
 * `Vary`, for every kind of miss (unhashed file, script, service worker, HTML, folder index, the
 * conflict miss, a version without any build), every method, conditional header and carrier; a
 * path no lane has still goes to `next()`. Every response path of the handler is checked for the
 * same class (a response that differs by lane carries `Vary` and `private`, or is the same for
 * every lane). Real express 5 and 4 as the docs write them, and the `node:http` form.
 * Rows named `(control)` held before.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import express, { type Request, type Response } from 'express';
import express4 from 'express4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../../src/adapters/express.js';
import { createAssetLanes, type AssetLanesOptions } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { rawRequest, type RawResponse } from './raw.js';

const CONFIG = { versions: ['stable', 'beta', 'canary', 'gamma'], default: 'stable' };
/** Builds; gamma has none (its visitors are on stable's). */
const BUILT = ['stable', 'beta', 'canary'] as const;
const VISITORS = ['stable', 'beta', 'canary', 'gamma'] as const;
const buildOf = (v: string): string => (v === 'gamma' ? 'stable' : v);

let dir: string;
const put = (rel: string, body: string): void => {
  const path = join(dir, 'web', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
};
const body = (lane: string, rel: string): string => `${lane.toUpperCase()}:${rel}`;

/** [kind, request path, file in the build, the builds that have it (other bytes in each)]. */
const MISSES: readonly (readonly [string, string, string, readonly string[]])[] = [
  ['an unhashed file', 'flags.json', 'flags.json', ['beta']],
  ['an unhashed script', 'app.js', 'app.js', ['beta']],
  ['a service worker', 'sw.js', 'sw.js', ['beta']],
  ['an SVG', 'img/roadmap.svg', 'img/roadmap.svg', ['beta']],
  ['an HTML page', 'promo.html', 'promo.html', ['beta']],
  ['a folder index', 'launch/', 'launch/index.html', ['beta']],
  ['a file only the fallback has', 'legacy.json', 'legacy.json', ['stable']],
  ['a file only canary has', 'canary-only.txt', 'canary-only.txt', ['canary']],
  [
    'the conflict miss (hashed name, copies differ)',
    'assets/app-7QZ3X2AB.js',
    'assets/app-7QZ3X2AB.js',
    ['stable', 'beta'],
  ],
  [
    'the conflict miss (word-like name)',
    'img/logo-FACEBOOK.png',
    'img/logo-FACEBOOK.png',
    ['stable', 'beta'],
  ],
];

/** Conditional and other request headers a miss must ignore (`ETAG` is the owner's ETag). */
const CONDITIONALS: readonly Record<string, string>[] = [
  {},
  { 'If-None-Match': '*' },
  { 'If-None-Match': 'ETAG' },
  { 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' },
  { Range: 'bytes=0-3' },
  { 'Accept-Encoding': 'gzip, br' },
];

/** A visitor's marker, by carrier (rotated over the requests). */
const CARRIERS: readonly ((lane: string) => Record<string, string>)[] = [
  (lane) => ({ Cookie: `gray=${lane}` }),
  (lane) => ({ 'X-Gray-Id': lane }),
  (lane) => ({ Cookie: `theme=dark; gray=${lane}` }),
];

type Form = 'express 5' | 'express 4' | 'express with an app 404 page' | 'node:http';
const FORMS: readonly Form[] = [
  'express 5',
  'express 4',
  'express with an app 404 page',
  'node:http',
];

interface Gateway {
  readonly s: Running;
  /** What a path no lane has gets: the app's answer (`next()`), or the gateway's own 404. */
  readonly passBody: string;
}

/** The docs' setups, verbatim but for `root` and the config. */
async function start(form: Form, extra: Partial<AssetLanesOptions> = {}): Promise<Gateway> {
  const options = { root: join(dir, 'web'), fallback: CONFIG.default, ...extra };
  if (form === 'node:http') {
    const gray = createGraylane({ config: CONFIG, sticky: { httpOnly: false } });
    const assets = createAssetLanes(options);
    const s = await listen(
      http.createServer((req, res) => gray.handle(req, res, () => assets(req, res))),
    );
    return { s, passBody: 'Not Found' };
  }
  const app = form === 'express 4' ? express4() : express();
  app.use(graylaneExpress({ config: CONFIG, sticky: { httpOnly: false } }));
  app.get('/api/hello', (_req: Request, res: Response) => res.json({ ok: true }));
  app.use(createAssetLanes(options));
  if (form === 'express with an app 404 page') {
    // An app's 404 page that a CDN may keep: what `next()` would hand a lane's miss to.
    app.use((_req: Request, res: Response) => {
      res
        .status(404)
        .set('Cache-Control', 'public, max-age=300')
        .type('text/plain')
        .send('app 404');
    });
  }
  const s = await listen(http.createServer(app));
  return { s, passBody: form === 'express with an app 404 page' ? 'app 404' : 'Cannot ' };
}

/** The headers that keep a response out of every shared cache, and say it depends on the lane. */
function expectUnshared(r: RawResponse, what: unknown): void {
  const cc = (r.headers['cache-control'] ?? '').split(',').map((s) => s.trim());
  expect([what, cc.includes('private') && cc.includes('no-store')]).toEqual([what, true]);
  const vary = (r.headers['vary'] ?? '').split(',').map((s) => s.trim().toLowerCase());
  expect([what, vary.includes('cookie') && vary.includes('x-gray-id')]).toEqual([what, true]);
}

/** The gateway's own 404 for a lane's miss: no ETag, no body for HEAD, never the app's page. */
function expectLaneMiss(r: RawResponse, method: string, what: unknown): void {
  expect([what, r.status, r.body]).toEqual([what, 404, method === 'HEAD' ? '' : 'Not Found']);
  expect([what, r.headers['etag'], r.headers['content-range']]).toEqual([
    what,
    undefined,
    undefined,
  ]);
  expectUnshared(r, what);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-lane-misses-'));
  for (const lane of BUILT) {
    put(`${lane}/index.html`, `<!doctype html><html><head></head><body>${lane}</body></html>`);
    put(`${lane}/robots.txt`, body(lane, 'robots.txt'));
  }
  for (const [, , file, owners] of MISSES)
    for (const lane of owners) put(`${lane}/${file}`, body(lane, file));
});
afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(FORMS)('AST-27 %s', (form) => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await start(form);
  });

  it.each(MISSES.map(([kind, target, , owners], i) => [kind, target, owners, i] as const))(
    '%s (%s): the lanes without it get a 404 no shared cache stores, for every method, conditional and carrier',
    async (_kind, target, owners, i) => {
      const lacking = VISITORS.filter((v) => !owners.includes(buildOf(v)));
      // The owners' answer first (their ETag goes into If-None-Match below).
      const own = await rawRequest(gw.s.port, `/${target}`, CARRIERS[i % 3]!(owners[0]!));
      expect([own.status, own.body.toLowerCase().includes(owners[0]!)]).toEqual([200, true]);
      const etag = own.headers['etag'] ?? 'W/"none"';
      let n = i;
      for (const visitor of lacking)
        for (const method of ['GET', 'HEAD'])
          for (const extra of CONDITIONALS) {
            const headers = { ...CARRIERS[n++ % 3]!(visitor) };
            for (const [k, v] of Object.entries(extra)) headers[k] = v === 'ETAG' ? etag : v;
            const r = await rawRequest(gw.s.port, `/${target}`, headers, method);
            expectLaneMiss(r, method, [visitor, method, extra]);
          }
    },
  );

  it('a version with no build at all, and no fallback build: a path a lane has is its miss', async () => {
    const g = await start(form, { fallback: 'gamma', lanes: ['stable', 'beta', 'canary'] });
    for (const method of ['GET', 'HEAD'])
      for (const target of ['flags.json', 'robots.txt', 'launch/'])
        expectLaneMiss(
          await rawRequest(g.s.port, `/${target}`, { Cookie: 'gray=gamma' }, method),
          method,
          [method, target],
        );
    const beta = await rawRequest(g.s.port, '/flags.json', { Cookie: 'gray=beta' });
    expect([beta.status, beta.body]).toEqual([200, body('beta', 'flags.json')]);
    await g.s.close();
  });

  // A path no lane has is the same answer for every lane: the app's (express), or the gateway's
  // own 404, which is never stored either (the nginx render answers errors `no-store` too).
  it.each([
    ['a path no lane has', '/nowhere.json', 'GET'],
    ['a folder index no lane has', '/nowhere/', 'GET'],
    ['a folder without its slash', '/launch', 'GET'],
    ['a dotfile (refused)', '/.env', 'GET'],
    ['a dot segment (refused)', '/%2e%2e/secret.txt', 'GET'],
    ['an encoded separator (refused)', '/img%2froadmap.svg', 'GET'],
    ['another method on a lane file', '/flags.json', 'POST'],
    ['OPTIONS on a lane file', '/flags.json', 'OPTIONS'],
    ['DELETE on a path no lane has', '/nowhere.json', 'DELETE'],
  ] as const)(
    `%s (%s %s): the same answer for every lane${form === 'node:http' ? ', never stored' : ' (control)'}`,
    async (_what, target, method) => {
      const answers = new Set<string>();
      for (const [k, visitor] of VISITORS.entries()) {
        const r = await rawRequest(gw.s.port, target, CARRIERS[k % 3]!(visitor), method);
        answers.add(`${r.status} ${r.body.slice(0, 40)}`);
        if (form === 'node:http') {
          // Fails on the old source: no Cache-Control, no Vary.
          expect([visitor, r.status, r.body]).toEqual([visitor, 404, 'Not Found']);
          expectUnshared(r, [visitor, target, method]);
        } else {
          expect([visitor, r.status, r.body.includes(gw.passBody)]).toEqual([visitor, 404, true]);
        }
      }
      expect([...answers]).toHaveLength(1);
    },
  );

  it('what is served depends on the lane and says so (control): HTML, per-lane files, 304s', async () => {
    for (const [k, visitor] of VISITORS.entries())
      for (const target of ['/', '/robots.txt']) {
        const first = await rawRequest(gw.s.port, target, CARRIERS[k % 3]!(visitor));
        expect([
          visitor,
          first.status,
          first.body.toLowerCase().includes(buildOf(visitor)),
        ]).toEqual([visitor, 200, true]);
        expect(first.headers['cache-control']).toBe('private, no-cache');
        expect(first.headers['vary']).toBe('Cookie, X-Gray-Id');
        const etag = { 'If-None-Match': first.headers['etag'] ?? '' };
        for (const method of ['GET', 'HEAD']) {
          const again = await rawRequest(
            gw.s.port,
            target,
            { ...CARRIERS[(k + 1) % 3]!(visitor), ...etag },
            method,
          );
          expect([visitor, target, method, again.status]).toEqual([visitor, target, method, 304]);
          expect(again.headers['cache-control']).toBe('private, no-cache');
          expect(again.headers['vary']).toBe('Cookie, X-Gray-Id');
          // The other lane's validator never revalidates to this lane's bytes.
          const other = visitor === 'beta' ? 'stable' : 'beta';
          const cross = await rawRequest(
            gw.s.port,
            target,
            { ...CARRIERS[k % 3]!(other), ...etag },
            method,
          );
          expect([visitor, other, cross.status]).toEqual([visitor, other, 200]);
        }
      }
  });

  it('an error in one lane (its renderer throws) is stored by no shared cache', async () => {
    const g = await start(form, {
      transformHtml: (html, { lane }) => {
        if (lane === 'beta') throw new Error('beta renderer down');
        return html;
      },
    });
    const ok = await rawRequest(g.s.port, '/', { Cookie: 'gray=stable' });
    expect([ok.status, ok.headers['cache-control']]).toEqual([200, 'private, no-cache']);
    for (const method of ['GET', 'HEAD']) {
      const r = await rawRequest(g.s.port, '/', { Cookie: 'gray=beta' }, method);
      expect([method, r.status]).toEqual([method, 500]);
      expectUnshared(r, method);
    }
    await g.s.close();
  });
});

describe('AST-27 the docs’ single-page fallback keeps the lane', () => {
  let s: Running;
  beforeAll(async () => {
    // docs/front-end-lanes.md, "Single-page apps: deep links", verbatim but for `root`.
    const assets = createAssetLanes({ root: join(dir, 'web'), fallback: CONFIG.default });
    const app = express();
    app.use(graylaneExpress({ config: CONFIG, sticky: { httpOnly: false } }));
    app.use(assets);
    app.use((req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      if (/\.[^/]*$/.test(req.path) || !req.accepts('html')) return next();
      req.url = '/'; // the lane's index.html; the route is still in req.originalUrl
      assets(req, res, next);
    });
    s = await listen(http.createServer(app));
  });

  it.each(['/checkout', '/checkout/step-2', '/account/'])(
    '%s: the visitor lane’s index.html, per lane (control)',
    async (target) => {
      for (const [k, visitor] of VISITORS.entries()) {
        const r = await rawRequest(s.port, target, CARRIERS[k % 3]!(visitor));
        expect([visitor, r.status]).toEqual([visitor, 200]);
        expect(r.body).toContain(`<body>${buildOf(visitor)}</body>`);
        expect(r.body).toContain(`<meta name="graylane-version" content="${visitor}">`);
        expect([r.headers['cache-control'], r.headers['vary']]).toEqual([
          'private, no-cache',
          'Cookie, X-Gray-Id',
        ]);
      }
    },
  );

  it('a file another lane has is that lane’s miss, never the fallback page', async () => {
    for (const method of ['GET', 'HEAD']) {
      const r = await rawRequest(s.port, '/flags.json', { Cookie: 'gray=stable' }, method);
      expectLaneMiss(r, method, method);
      const page = await rawRequest(s.port, '/promo.html', { 'X-Gray-Id': 'canary' }, method);
      expectLaneMiss(page, method, ['promo', method]);
    }
    // A path with an extension no lane has is the app's 404, not HTML (control).
    const stale = await rawRequest(s.port, '/assets/old-Ab3dE5fG.js', { Cookie: 'gray=beta' });
    expect([stale.status, stale.body.includes('Cannot GET')]).toEqual([404, true]);
  });
});
