/**
 * The asset-lane gateway behind real express and the real graylane middleware, on 127.0.0.1,
 * over a real build layout in a temp folder: lanes, fallback, caching headers, ETag/304, and
 * table-driven hostile paths and headers sent on a raw socket (no client-side normalising).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGraylaneError } from '@graylane/core';
import { graylaneExpress } from '../../src/adapters/express.js';
import { createGraylane, getGrayVersion, tryGetGrayLane } from '../../src/index.js';
import {
  createAssetLanes,
  type AssetLanes,
  type AssetLanesOptions,
} from '../../src/assets/index.js';
import type * as AssetsModule from '../../src/assets/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { BUNDLE, SECRET, createLayout, type Layout } from './fixture.js';
import { rawRequest, type RawResponse } from './raw.js';

const CONFIG = { versions: ['stable', 'beta', 'canary', 'gamma'], default: 'stable' };
type Lane = 'stable' | 'beta' | 'canary';

let layout: Layout;
let gw: Running;
let assets: AssetLanes;
let seenLane: (string | undefined)[] = [];

/** express + graylane + asset lanes; a final 404 handler and an error handler show fall-through. */
async function gateway(extra: Partial<AssetLanesOptions> = {}, middleware = true) {
  const lanes = createAssetLanes({ root: layout.root, fallback: 'stable', ...extra });
  const app = express();
  if (middleware) app.use(graylaneExpress({ config: CONFIG, sticky: { httpOnly: false } }));
  app.use(lanes);
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('fell through');
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('text/plain').send(`error handler: ${err.message}`);
  });
  return { lanes, server: await listen(http.createServer(app)) };
}

const get = (target: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(gw.port, target, headers, method);
const meta = (r: RawResponse): string | undefined =>
  /<meta name="graylane-version" content="([^"]*)">/.exec(r.body)?.[1];
const built = (r: RawResponse): string | undefined => /<div id="app">(\w+) build/.exec(r.body)?.[1];

beforeAll(async () => {
  layout = createLayout();
  ({ lanes: assets, server: gw } = await gateway({
    transformHtml: (html) => {
      seenLane.push(tryGetGrayLane());
      return html;
    },
  }));
});
afterAll(async () => {
  await closeAll();
  layout.remove();
});

describe('a folder under root is a lane only when a version is', () => {
  // `ln -sfn releases/42 root/beta` keeps retired builds under root; a `private/` folder next to
  // the lanes. Neither may answer a hashed name a visitor's lane lacks.
  it.each([
    [
      'a retired build under releases/',
      'releases/41/assets/admin-7QZ3X2AB.js',
      '/41/assets/admin-7QZ3X2AB.js',
    ],
    ['a private folder', 'private/keys-12345678.json', '/keys-12345678.json'],
    [
      'a retired build, full path',
      'releases/41/assets/admin-7QZ3X2AB.js',
      '/releases/41/assets/admin-7QZ3X2AB.js',
    ],
  ] as const)('%s is not served to any lane', async (_name, file, target) => {
    const path = join(layout.root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'secret');
    for (const lane of ['stable', 'beta', 'canary', 'gamma']) {
      const r = await get(target, { 'X-Gray-Id': lane });
      expect(r.status, `${lane} ${target}`).not.toBe(200);
      expect(r.body).not.toContain('secret');
    }
  });
});

describe('STK-02 / WT-03 the hand-off names the version and nothing else', () => {
  // The browser never stores a hand-off: the page view follows it, the server's sticky cookie
  // persists what may be persisted. So the tag is the same whatever decided it.
  it.each([
    ['a header marker', { 'X-Gray-Id': 'beta' }, '', 'beta'],
    ['a query marker', {}, '?gray=beta', 'beta'],
    ['the cookie', { Cookie: 'gray=beta' }, '', 'beta'],
    ['no marker: the default', {}, '', 'stable'],
    ['an unknown version: the default', { 'X-Gray-Id': 'nope' }, '', 'stable'],
  ] as const)('%s', async (_name, headers, query, version) => {
    const r = await get(`/${query}`, headers);
    expect(meta(r)).toBe(version);
    expect(r.body).toContain(`<meta name="graylane-version" content="${version}">`);
    expect(r.headers['set-cookie'] ?? []).toEqual([]);
  });
});

describe('lanes', () => {
  const markers: [string, (v: Lane) => Record<string, string>, (v: Lane) => string][] = [
    ['header', (v) => ({ 'X-Gray-Id': v }), () => ''],
    ['cookie', (v) => ({ Cookie: `gray=${v}` }), () => ''],
    ['query', () => ({}), (v) => `?gray=${v}`],
  ];
  it.each(
    markers.flatMap(([carrier, h, q]) =>
      (['stable', 'beta', 'canary'] as const).map((v) => [carrier, v, h, q] as const),
    ),
  )('AST-10 %s marker %s: HTML, meta and bundle from the same build', async (_c, v, h, q) => {
    const page = await get(`/${q(v)}`, h(v));
    expect(page.status).toBe(200);
    expect(built(page)).toBe(v);
    expect(meta(page)).toBe(v);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('private, no-cache');
    expect(page.headers['vary']).toBe('Cookie, X-Gray-Id');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const src = /src="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(src).toBe(`/assets/${BUNDLE[v]}`);
    const js = await get(`${src}${q(v)}`, h(v));
    expect(js.status).toBe(200);
    expect(js.body).toBe(`window.BUILD=${JSON.stringify(v)};`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['vary']).toBeUndefined();
  });

  it('AST-10 /index.html, /docs/ and other lane files follow the lane; /docs (a folder) is not served', async () => {
    for (const v of ['stable', 'beta'] as const) {
      const h = { 'X-Gray-Id': v };
      expect(built(await get('/index.html', h))).toBe(v);
      const docs = await get('/docs/', h);
      expect(docs.body).toContain(`${v} docs`);
      expect(meta(docs)).toBe(v);
      const robots = await get('/robots.txt', h);
      expect(robots.body).toBe(`${v} robots`);
      expect(robots.headers['cache-control']).toBe('private, no-cache');
      expect(robots.headers['vary']).toBe('Cookie, X-Gray-Id');
      expect(robots.headers['content-type']).toBe('text/plain; charset=utf-8');
      const manifest = await get('/site.webmanifest', h);
      expect(manifest.headers['content-type']).toBe('application/manifest+json; charset=utf-8');
      expect((await get('/docs', h)).body).toBe('fell through');
    }
  });

  it('AST-11 lane fallback: a version without a build gets the fallback build, and the page still says its version', async () => {
    const before = assets.stats().fallbacks.find((f) => f.wanted === 'gamma')?.count ?? 0;
    seenLane = [];
    const page = await get('/', { 'X-Gray-Id': 'gamma' });
    expect(built(page)).toBe('stable');
    // The marker travels on unchanged: API calls from this page carry gamma (lane fallback).
    expect(meta(page)).toBe('gamma');
    expect(seenLane).toEqual(['stable']);
    const js = await get(`/assets/${BUNDLE.stable}`, { 'X-Gray-Id': 'gamma' });
    expect(js.body).toBe('window.BUILD="stable";');
    const after = assets.stats().fallbacks.find((f) => f.wanted === 'gamma');
    expect(after).toEqual({ wanted: 'gamma', served: 'stable', count: before + 2 });
  });

  it('AST-12 a content-hashed file is the same bytes in every lane: found across lanes, never Vary', async () => {
    for (const v of ['beta', 'canary', 'gamma']) {
      const shared = await get('/assets/shared-2C2FFEE2.js', { 'X-Gray-Id': v });
      expect(shared.status).toBe(200);
      expect(shared.body).toBe('window.SHARED=1;');
      expect(shared.headers['vary']).toBeUndefined();
      // Another lane's bundle by name: what a CDN asks for on behalf of anyone.
      expect((await get(`/assets/${BUNDLE.stable}`, { 'X-Gray-Id': v })).body).toBe(
        'window.BUILD="stable";',
      );
    }
    expect((await get(`/assets/${BUNDLE.beta}`, { 'X-Gray-Id': 'stable' })).body).toBe(
      'window.BUILD="beta";',
    );
    // Not content-hashed: never looked up in another lane (cross-lane.test.ts); stable has it,
    // so beta's miss is the gateway's own 404, stored by no shared cache (lane-misses.test.ts).
    const own = await get('/inner-link.txt', { 'X-Gray-Id': 'beta' });
    expect([own.status, own.body, own.headers['cache-control']]).toEqual([
      404,
      'Not Found',
      'private, no-store',
    ]);
    expect((await get('/assets/nothing-00000000.js', { 'X-Gray-Id': 'beta' })).body).toBe(
      'fell through',
    );
  });

  it('AST-19 without a graylane decision: the fallback build, no meta tag (nothing to tell the page)', async () => {
    const { lanes, server } = await gateway({}, false);
    const page = await rawRequest(server.port, '/', { 'X-Gray-Id': 'beta' });
    expect(built(page)).toBe('stable');
    expect(meta(page)).toBeUndefined();
    expect(lanes.stats().injectionSkipped).toEqual({ no_version: 1 });
  });
});

describe('hostile paths (raw socket)', () => {
  const targets = [
    '/../secret.txt',
    '/../../secret.txt',
    '/../web/.env',
    '/..%2fsecret.txt',
    '/..%2f..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e/%2e%2e/secret.txt',
    '/%2E%2E%2F%2E%2E%2Fsecret.txt',
    '/.%2e/.%2e/secret.txt',
    '/%252e%252e/%252e%252e/secret.txt',
    '/..%5c..%5csecret.txt',
    '/..\\..\\secret.txt',
    '/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt',
    '/%c0%af..%c0%afsecret.txt',
    '/assets/../../secret.txt',
    '/docs/../../../secret.txt',
    '//secret.txt',
    '/web/stable/index.html',
    '/%2f' + 'etc/passwd',
    '/etc/passwd%00.js',
    '/secret.txt%00',
    '/..;/secret.txt',
    '/.env',
    '/%2eenv',
    '/.git/config',
    '/leak.txt',
    '/leak-relative.txt',
    '/leakdir/secret.txt',
    '/passwd.txt',
    '/other-lane.txt',
    '/dangling.js',
    '/C:/secret.txt',
    '/%ef%bc%8e%ef%bc%8e/secret.txt',
    'http://127.0.0.1/../secret.txt',
    'http://127.0.0.1//secret.txt',
    `/${'a/'.repeat(40)}x.js`,
    `/${'%2e'.repeat(3000)}`,
    '*',
  ];
  const lanes = ['stable', 'beta', 'canary', 'gamma'];

  it.each(targets.flatMap((t) => lanes.map((l) => [t, l])))(
    'AST-01 AST-13 %j (lane %s) serves nothing outside the build',
    async (target, lane) => {
      const r = await get(target, { 'X-Gray-Id': lane });
      expect(r.body).not.toContain(SECRET);
      expect(r.body).not.toContain('root:x:0');
      // Node's parser answers 400 for some shapes; the rest fall through to the app's 404.
      expect([400, 404]).toContain(r.status);
    },
  );

  it('AST-13 symlinks: out of the build or into another lane refused; inside the build followed; lane folder may be a symlink', async () => {
    const before = assets.stats().misses.escape ?? 0;
    for (const t of [
      '/leak.txt',
      '/leak-relative.txt',
      '/leakdir/secret.txt',
      '/passwd.txt',
      '/other-lane.txt',
    ]) {
      expect((await get(t, { 'X-Gray-Id': 'stable' })).body).toBe('fell through');
    }
    expect(assets.stats().misses.escape).toBe(before + 5);
    expect((await get('/inner-link.txt', { 'X-Gray-Id': 'stable' })).body).toBe('stable robots');
    expect(built(await get('/', { 'X-Gray-Id': 'canary' }))).toBe('canary');
  });

  it('AST-13 a FIFO planted in the build is refused at once (no thread parked on open)', async () => {
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => get('/fifo.js', { 'X-Gray-Id': 'stable' })),
    );
    for (const r of answers) expect(r.body).toBe('fell through');
    // The libuv pool has 4 threads: 8 parked opens would never finish.
    expect((await get('/robots.txt', { 'X-Gray-Id': 'stable' })).body).toBe('stable robots');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('AST-04 refusals are counted by reason, before the file system', () => {
    const rejected = assets.stats().rejectedPaths;
    for (const reason of ['dot_segment', 'hidden', 'empty_segment', 'bad_escape', 'too_long']) {
      expect(rejected[reason as keyof typeof rejected], reason).toBeGreaterThan(0);
    }
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND'])(
    'AST-14 %s is not served (falls through to the app)',
    async (method) => {
      const r = await get('/index.html', { 'X-Gray-Id': 'beta', 'Content-Length': '0' }, method);
      expect(r.body).toBe('fell through');
    },
  );
});

describe('hostile marker headers never move the page to another lane', () => {
  const rows: [string, Record<string, string>, string, Lane][] = [
    ['HDR-02 empty header', { 'X-Gray-Id': '' }, '/', 'stable'],
    ['HDR-04 unknown version', { 'X-Gray-Id': 'delta' }, '/', 'stable'],
    ['HDR-05 case', { 'X-Gray-Id': 'BETA' }, '/', 'stable'],
    ['HDR-06 OWS trimmed', { 'X-Gray-Id': ' \tbeta ' }, '/', 'beta'],
    ['HDR-07 two values', { 'X-Gray-Id': 'beta, stable' }, '/', 'stable'],
    ['HDR-07 equal twice', { 'X-Gray-Id': 'beta, beta' }, '/', 'stable'],
    ['HDR-08 quoted', { 'X-Gray-Id': '"beta"' }, '/', 'stable'],
    ['HDR-09 oversized', { 'X-Gray-Id': 'b'.repeat(5000) }, '/', 'stable'],
    ['HDR-10 latin-1', { 'X-Gray-Id': 'b\u00e9ta' }, '/', 'stable'],
    ['HDR-11 __proto__', { 'X-Gray-Id': '__proto__' }, '/', 'stable'],
    ['HDR-11 constructor', { 'X-Gray-Id': 'constructor' }, '/', 'stable'],
    ['AST-16 path in marker', { 'X-Gray-Id': '../beta' }, '/', 'stable'],
    ['AST-16 path in marker', { 'X-Gray-Id': 'beta/../../secret' }, '/', 'stable'],
    ['AST-16 absolute marker', { 'X-Gray-Id': '/etc' }, '/', 'stable'],
    ['CK-02 two cookies', { Cookie: 'gray=beta; gray=stable' }, '/', 'stable'],
    ['CK-03 bad escape', { Cookie: 'gray=%E0%A4%A' }, '/', 'stable'],
    ['CK-04 quoted cookie', { Cookie: 'gray="beta"' }, '/', 'beta'],
    ['CK-06 __proto__ cookie', { Cookie: '__proto__=beta; constructor=x' }, '/', 'stable'],
    ['CK-07 CRLF cookie', { Cookie: 'gray=beta%0d%0a' }, '/', 'stable'],
    ['QS-03 two query values', {}, '/?gray=beta&gray=stable', 'stable'],
    ['QS-04 array query', {}, '/?gray[]=beta', 'stable'],
    ['QS-05 NUL query', {}, '/?gray=%00beta', 'stable'],
    ['QS-06 key case', {}, '/?GRAY=beta', 'stable'],
    ['PREC-01 header over cookie', { 'X-Gray-Id': 'canary', Cookie: 'gray=beta' }, '/', 'canary'],
    [
      'PREC-02 invalid header, valid cookie',
      { 'X-Gray-Id': 'nope', Cookie: 'gray=beta' },
      '/',
      'beta',
    ],
  ];
  it.each(rows)('%s → the %3$s page is the %4$s build', async (_id, headers, target, lane) => {
    const page = await get(target, headers);
    expect(page.status).toBe(200);
    expect(built(page)).toBe(lane);
    expect(meta(page)).toBe(lane);
    const src = /src="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(src).toBe(`/assets/${BUNDLE[lane]}`);
  });

  it('AST-16 a custom version() returning paths, non-strings or throwing serves the fallback and counts', async () => {
    const values: unknown[] = [
      '../beta',
      '/etc',
      'beta/../..',
      '__proto__',
      '',
      42,
      null,
      {},
      'BETA',
    ];
    let i = 0;
    const { lanes, server } = await gateway(
      {
        version: () => {
          const v = values[i++];
          if (v === null) throw new Error('boom');
          return v as string;
        },
      },
      false,
    );
    for (let n = 0; n < values.length; n++) {
      const page = await rawRequest(server.port, '/');
      expect(built(page)).toBe('stable');
      expect(meta(page)).toBeUndefined();
    }
    // null threw (counted as "no version"), '' and non-labels are invalid.
    expect(lanes.stats().invalidVersions).toBe(values.length - 1);
  });
});

describe('validators and caching', () => {
  it('AST-07 HTML: ETag per version; If-None-Match → 304 with Vary; another lane revalidates to 200', async () => {
    const beta = await get('/', { 'X-Gray-Id': 'beta' });
    const stable = await get('/', { 'X-Gray-Id': 'stable' });
    expect(beta.headers['etag']).toMatch(/^"[\w-]{27}"$/);
    expect(beta.headers['etag']).not.toBe(stable.headers['etag']);
    const again = await get('/', {
      'X-Gray-Id': 'beta',
      'If-None-Match': beta.headers['etag'] ?? '',
    });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['vary']).toBe('Cookie, X-Gray-Id');
    expect(again.headers['etag']).toBe(beta.headers['etag']);
    const switched = await get('/', {
      'X-Gray-Id': 'stable',
      'If-None-Match': beta.headers['etag'] ?? '',
    });
    expect(switched.status).toBe(200);
    expect(built(switched)).toBe('stable');
    // gamma falls back to the stable build, but its page says gamma: a different document.
    const gamma = await get('/', {
      'X-Gray-Id': 'gamma',
      'If-None-Match': stable.headers['etag'] ?? '',
    });
    expect(gamma.status).toBe(200);
  });

  it('AST-07 lane files: the ETag names the lane; immutable files revalidate anywhere', async () => {
    const stable = await get('/robots.txt', { 'X-Gray-Id': 'stable' });
    expect(stable.headers['etag']).toMatch(/^W\/"stable-/);
    const beta = await get('/robots.txt', {
      'X-Gray-Id': 'beta',
      'If-None-Match': stable.headers['etag'] ?? '',
    });
    expect(beta.status).toBe(200);
    expect(beta.body).toBe('beta robots');
    const js = await get(`/assets/${BUNDLE.beta}`, { 'X-Gray-Id': 'beta' });
    const js304 = await get(`/assets/${BUNDLE.beta}`, {
      'X-Gray-Id': 'stable',
      'If-None-Match': `"x", ${js.headers['etag']}`,
    });
    expect(js304.status).toBe(304);
    expect(js304.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get('/robots.txt', { 'X-Gray-Id': 'beta', 'If-None-Match': '*' })).status).toBe(
      304,
    );
  });

  it.each([
    ['garbage', 200],
    ['W/', 200],
    [',,,,', 200],
    ['"' + 'x'.repeat(5000) + '"', 200],
    [Array.from({ length: 500 }, (_, i) => `"t${i}"`).join(', '), 200],
  ])('AST-07 hostile If-None-Match %#: full response, no throw', async (inm, status) => {
    const r = await get('/', { 'X-Gray-Id': 'beta', 'If-None-Match': inm });
    expect(r.status).toBe(status);
    expect(built(r)).toBe('beta');
  });

  it.each([
    ['Range', { Range: 'bytes=0-3' }],
    ['multi-range', { Range: 'bytes=0-1,5-9' }],
    ['If-Range', { Range: 'bytes=0-1', 'If-Range': '"x"' }],
    ['If-Modified-Since future', { 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' }],
    ['If-Modified-Since garbage', { 'If-Modified-Since': 'yesterday' }],
    ['Accept-Encoding', { 'Accept-Encoding': 'gzip, br, *;q=0' }],
    ['X-Forwarded-Host', { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' }],
    ['X-Original-URL', { 'X-Original-URL': '/../secret.txt', 'X-Rewrite-URL': '/.env' }],
    ['8 KiB cookie', { Cookie: `a=${'x'.repeat(8000)}; gray=beta` }],
    [
      '200 cookies',
      { Cookie: `${Array.from({ length: 200 }, (_, i) => `c${i}=v`).join('; ')}; gray=beta` },
    ],
    ['baggage', { baggage: 'gray=stable,other=1' }],
  ])('AST-15 %s: the build follows the decision; full 200 body', async (_name, headers) => {
    // Whatever the middleware decides from these headers, the build follows it.
    const r = await get('/', headers);
    const lane = meta(r) as Lane;
    expect(['stable', 'beta']).toContain(lane);
    expect(r.status).toBe(200);
    expect(built(r)).toBe(lane);
    expect(r.body).toMatch(/^<!doctype html>.*<\/html>$/s);
    const js = await get(`/assets/${BUNDLE[lane]}`, headers);
    expect([js.status, js.body]).toEqual([200, `window.BUILD="${lane}";`]);
  });

  // AST-14/AST-07: a conditional HEAD is answered like the GET it stands for (RFC 9110 §13.1.2):
  // 304 when the validator matches, whatever the kind of file.
  const conditional: Array<[string, string]> = [
    ['HTML', '/'],
    ['a lane file', '/robots.txt'],
    ['an immutable file', `/assets/${BUNDLE.beta}`],
  ];
  it.each(conditional.flatMap(([k, t]) => ['GET', 'HEAD'].map((m) => [m, k, t] as const)))(
    'AST-14 %s of %s: If-None-Match matching → 304 (no body), not matching or * → as the method says',
    async (method, _kind, target) => {
      const first = await get(target, { 'X-Gray-Id': 'beta' });
      const etag = first.headers['etag'] ?? '';
      for (const [inm, status] of [
        [etag, 304],
        [`"other", ${etag}`, 304],
        [etag.replace(/^W\//, ''), 304],
        ['*', 304],
        ['"other"', 200],
      ] as const) {
        const r = await get(target, { 'X-Gray-Id': 'beta', 'If-None-Match': inm }, method);
        expect([inm, r.status]).toEqual([inm, status]);
        expect(r.body).toBe(method === 'HEAD' || status === 304 ? '' : first.body);
        expect(r.headers['etag']).toBe(etag);
        expect(r.headers['cache-control']).toBe(first.headers['cache-control']);
      }
    },
  );

  it('AST-14 HEAD: headers and length, no body', async () => {
    const full = await get('/', { 'X-Gray-Id': 'beta' });
    const head = await get('/', { 'X-Gray-Id': 'beta' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(full.body, 'latin1')));
    const js = await get(`/assets/${BUNDLE.beta}`, {}, 'HEAD');
    expect(js.headers['content-length']).toBe(String('window.BUILD="beta";'.length));
    expect(js.body).toBe('');
  });

  it('AST-20 Vary is merged with an earlier one; a custom list replaces the default', async () => {
    const lanes = createAssetLanes({
      root: layout.root,
      fallback: 'stable',
      vary: ['Cookie', 'X-Lane'],
    });
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('Vary', 'Accept-Encoding, cookie');
      next();
    });
    app.use(graylaneExpress({ config: CONFIG }));
    app.use(lanes);
    const s = await listen(http.createServer(app));
    const r = await rawRequest(s.port, '/');
    expect(r.headers['vary']).toBe('Accept-Encoding, cookie, X-Lane');
  });
});

describe('CSP nonce, inline config and server-side rendering', () => {
  it('AST-06 a valid nonce: the inline config carries it; the page is never stored', async () => {
    const { server } = await gateway({
      inlineConfig: (req) => ({ path: req.url, version: 'forged' }),
      nonce: (req) => req.headers['x-nonce'] as string | undefined,
    });
    const nonce = 'rAnd0mN0nce+/=';
    const r = await rawRequest(server.port, '/', { 'X-Gray-Id': 'beta', 'X-Nonce': nonce });
    expect(meta(r)).toBe('beta');
    const script = /<script nonce="([^"]+)">window\.__GRAYLANE__=(.*?);<\/script>/.exec(r.body);
    expect(script?.[1]).toBe('rAnd0mN0nce+/=');
    // The decided version cannot be overridden by the extra fields.
    expect(JSON.parse(script?.[2] ?? 'null')).toEqual({ path: '/', version: 'beta' });
    expect(r.headers['cache-control']).toBe('private, no-store');
    expect(r.headers['etag']).toBeUndefined();
    // Meta first, then the config, both before the page's own scripts.
    expect(r.body.indexOf('graylane-version')).toBeLessThan(r.body.indexOf('__GRAYLANE__'));
    expect(r.body.indexOf('__GRAYLANE__')).toBeLessThan(r.body.indexOf('type="module"'));
  });

  it.each([
    ['"><script>alert(1)</script>'],
    ['short'],
    ['x'.repeat(200)],
    ['a b c d e f g h'],
    ['abcdefgh\r\nSet-Cookie: x'],
  ])(
    'AST-06 an invalid nonce %j: no inline script (CSP would block it), meta still there',
    async (bad) => {
      const { lanes, server } = await gateway({ inlineConfig: true, nonce: () => bad });
      const r = await rawRequest(server.port, '/', { 'X-Gray-Id': 'beta' });
      expect(meta(r)).toBe('beta');
      expect(r.body).not.toContain('__GRAYLANE__');
      expect(r.body).not.toContain('alert(1)');
      expect(lanes.stats().injectionSkipped.invalid_nonce).toBe(1);
    },
  );

  it('AST-06 inline config without a nonce; a throwing or unserializable extra falls back to the version', async () => {
    const { server } = await gateway({ inlineConfig: true });
    const r = await rawRequest(server.port, '/', { 'X-Gray-Id': 'canary' });
    expect(r.body).toContain('<script>window.__GRAYLANE__={"version":"canary"};</script>');
    expect(r.headers['etag']).toBeDefined();
    const throwing = await gateway({
      inlineConfig: () => {
        throw new Error('boom');
      },
    });
    const t = await rawRequest(throwing.server.port, '/', { 'X-Gray-Id': 'beta' });
    expect(t.body).toContain('window.__GRAYLANE__={"version":"beta"};');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const bad = await gateway({ inlineConfig: () => cyclic });
    const b = await rawRequest(bad.server.port, '/', { 'X-Gray-Id': 'beta' });
    expect(b.body).not.toContain('__GRAYLANE__');
    expect(meta(b)).toBe('beta');
    expect(bad.lanes.stats().injectionSkipped.inline_config).toBe(1);
  });

  it('AST-17 transformHtml renders inside the request context; its errors reach express', async () => {
    const { server } = await gateway({
      transformHtml: (html, ctx) => {
        if (ctx.req.headers['x-fail']) throw new Error('render failed');
        return html.replace(
          /<div id="app">.*?<\/div>/,
          `<div id="app">ssr:${getGrayVersion()}:${ctx.lane}:${ctx.path}</div>`,
        );
      },
    });
    const ok = await rawRequest(server.port, '/', { 'X-Gray-Id': 'gamma' });
    expect(ok.body).toContain('<div id="app">ssr:gamma:stable:index.html</div>');
    expect(meta(ok)).toBe('gamma');
    const failed = await rawRequest(server.port, '/', { 'X-Gray-Id': 'beta', 'X-Fail': '1' });
    expect(failed.status).toBe(500);
    expect(failed.body).toBe('error handler: render failed');
    const async = await gateway({ transformHtml: async (html) => html.toUpperCase() });
    expect((await rawRequest(async.server.port, '/', { 'X-Gray-Id': 'beta' })).body).toContain(
      'BETA BUILD',
    );
  });

  it('AST-05 an HTML document over the cap is served unchanged and counted', async () => {
    mkdirSync(join(layout.root, 'stable/big'), { recursive: true });
    const big = `<!doctype html><html><head></head><body>${'x'.repeat(2.1 * 1024 * 1024)}</body></html>`;
    writeFileSync(join(layout.root, 'stable/big/index.html'), big);
    const before = assets.stats().injectionSkipped.html_too_large ?? 0;
    const r = await get('/big/', { 'X-Gray-Id': 'stable' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(big.length);
    expect(meta(r)).toBeUndefined();
    expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
    expect(assets.stats().injectionSkipped.html_too_large).toBe(before + 1);
  });
});

describe('node:http and concurrency', () => {
  it('AST-18 without next: 404 for what is not served, 500 for errors, never a throw', async () => {
    const gray = createGraylane({ config: CONFIG });
    const lanes = createAssetLanes({
      root: layout.root,
      fallback: 'stable',
      transformHtml: (html, { req }) => {
        if (req.url?.includes('fail')) throw new Error('x');
        return html;
      },
    });
    const server = http.createServer((req: IncomingMessage, res: ServerResponse) =>
      gray.handle(req, res, () => lanes(req, res)),
    );
    const s = await listen(server);
    expect(built(await rawRequest(s.port, '/', { 'X-Gray-Id': 'beta' }))).toBe('beta');
    const missing = await rawRequest(s.port, '/nope.js');
    expect([missing.status, missing.body]).toEqual([404, 'Not Found']);
    expect((await rawRequest(s.port, '/../secret.txt')).status).toBe(404);
    expect((await rawRequest(s.port, '/', {}, 'POST')).status).toBe(404);
    expect((await rawRequest(s.port, '/index.html?fail')).status).toBe(500);
  });

  it('I7 AST-10 400 concurrent visitors on four versions: every page and bundle is its own', async () => {
    const versions = ['stable', 'beta', 'canary', 'gamma'] as const;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const fetchText = (path: string, v: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get(`${gw.url}${path}`, { agent, headers: { 'x-gray-id': v } }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    const checks = Array.from({ length: 400 }, async (_, i) => {
      const v = versions[(i * 7) % 4] as (typeof versions)[number];
      const lane = v === 'gamma' ? 'stable' : v;
      const page = await fetchText('/', v);
      expect(page).toContain(`<meta name="graylane-version" content="${v}">`);
      expect(page).toContain(`${lane} build`);
      expect(await fetchText(`/assets/${BUNDLE[lane]}`, v)).toBe(`window.BUILD="${lane}";`);
    });
    await Promise.all(checks);
    agent.destroy();
  });
});

describe('module formats', () => {
  it('AST-19 the built CJS and ESM entries read the same graylane context as the middleware', async () => {
    const require = createRequire(import.meta.url);
    const cjs = require('@graylane/node/assets') as typeof AssetsModule;
    const esm = await import('@graylane/node/assets');
    for (const mod of [cjs, esm]) {
      const lanes = mod.createAssetLanes({ root: layout.root, fallback: 'stable' });
      const app = express();
      app.use(graylaneExpress({ config: CONFIG }));
      app.use(lanes);
      const s = await listen(http.createServer(app));
      const page = await rawRequest(s.port, '/', { 'X-Gray-Id': 'beta' });
      expect([built(page), meta(page)]).toEqual(['beta', 'beta']);
    }
  });
});

describe('options', () => {
  it.each([
    [{ root: '', fallback: 'stable' }],
    [{ root: '/x', fallback: '../stable' }],
    [{ root: '/x', fallback: 'Stable' }],
    [{ root: '/x', fallback: 'stable', index: '../index.html' }],
    [{ root: '/x', fallback: 'stable', index: '.env' }],
    [{ root: '/x', fallback: 'stable', vary: ['X Gray'] }],
    [{ root: '/x', fallback: 'stable', vary: ['Cookie\r\nX: y'] }],
    [{ root: '/x', fallback: 'stable', immutable: 'hash' }],
  ])('I1 bad options throw INVALID_OPTIONS at construction: %j', (options) => {
    let error: unknown;
    try {
      createAssetLanes(options as unknown as AssetLanesOptions);
    } catch (e) {
      error = e;
    }
    expect(isGraylaneError(error) && error.code).toBe('INVALID_OPTIONS');
  });

  it('AST-09 immutable: a global RegExp is safe to reuse; a throwing predicate means "not immutable"', async () => {
    const g = await gateway({ immutable: /\.js$/g });
    for (let i = 0; i < 3; i++) {
      const r = await rawRequest(g.server.port, `/assets/${BUNDLE.beta}`, { 'X-Gray-Id': 'beta' });
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    }
    const t = await gateway({
      immutable: () => {
        throw new Error('x');
      },
    });
    const r = await rawRequest(t.server.port, `/assets/${BUNDLE.beta}`, { 'X-Gray-Id': 'beta' });
    expect(r.headers['cache-control']).toBe('private, no-cache');
  });
});
