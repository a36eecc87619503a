/**
 * AST-28 a name that only looks hashed is not given a year on its shape (review 173 D2).
 * `logo-FACEBOOK.png` (the docs' own example: eight capitals read as esbuild's hash) went out
 * `public, max-age=31536000, immutable` while only stable's build had it; beta deployed later
 * with other bytes under the name, and every cache kept serving stable's bytes to beta visitors
 * for a year. A name `HASHED_NAME` recognises only by a run that also reads as a word, alone or
 * with a number, is now served `public, no-cache` with its ETag (a cache may keep it, and asks
 * again every time) until every lane's build holds the same bytes under it; then a year. Real
 * content hashes keep their year from the first deploy, and so does a name the `immutable`
 * option vouches for. Deploys happen while the gateway runs; real graylane middleware on
 * `node:http`. Rows named `(control)` held before.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAssetLanes, type AssetLanesOptions } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { rawRequest, type RawResponse } from './raw.js';

const YEAR = 'public, max-age=31536000, immutable';
const YEAR_PRIVATE = 'private, max-age=31536000, immutable';
const REVALIDATE = 'public, no-cache';
const PER_LANE = 'private, no-cache';

/** Names HASHED_NAME reads as hashed by a run that is also a word (with a number or not). */
const WORD_LIKE = [
  'img/logo-FACEBOOK.png',
  'hero-BANNER72.png',
  'menu-cafe2024.pdf',
  'docs/2024cafe.pdf',
  'assets/main-HZTFNSRQ.js',
  'assets/chunk-ABCDEF23.js',
] as const;
/** Real bundler hashes: esbuild, Rollup/Vite, webpack/CRA, Next.js, Nuxt. */
const HASHED = [
  'assets/main-7QZ3X2AB.js',
  'assets/index-BdK3kF9a.js',
  'static/js/main.5d58cadf.js',
  '_next/static/chunks/framework-4ed89e9640adfb9e.js',
  '_nuxt/DlAUqK2U.js',
] as const;

const CARRIERS: readonly ((lane: string) => Record<string, string>)[] = [
  (lane) => ({ Cookie: `gray=${lane}` }),
  (lane) => ({ 'X-Gray-Id': lane }),
];

let dir: string;
let gw: Running;
const put = (rel: string, body: string): void => {
  const path = join(dir, 'web', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
};

/** The docs' node:http form; `x-session: before|head` sets a cookie before the handler or at head. */
async function start(
  versions: readonly string[] = ['stable', 'beta', 'gamma'],
  extra: Partial<AssetLanesOptions> = {},
): Promise<Running> {
  const gray = createGraylane({
    config: { versions: [...versions], default: 'stable' },
    sticky: { httpOnly: false },
  });
  const assets = createAssetLanes({ root: join(dir, 'web'), fallback: 'stable', ...extra });
  return listen(
    http.createServer((req, res) =>
      gray.handle(req, res, () => {
        const session = req.headers['x-session'];
        if (session === 'before') res.setHeader('Set-Cookie', 'sid=1; Path=/');
        if (session === 'head') {
          const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => unknown;
          (res as unknown as { writeHead: (...a: unknown[]) => unknown }).writeHead = (
            ...a: unknown[]
          ) => (res.appendHeader('Set-Cookie', 'sid=1'), writeHead(...a));
        }
        assets(req, res);
      }),
    ),
  );
}

let n = 0;
const ask = (
  rel: string,
  visitor: string,
  extra: Record<string, string> = {},
  method = 'GET',
  s: Running = gw,
): Promise<RawResponse> =>
  rawRequest(s.port, `/${rel}`, { ...CARRIERS[n++ % 2]!(visitor), ...extra }, method);

/** Served to everyone alike: no `Vary`, an ETag that names no lane. */
function expectShared(r: RawResponse, bytes: string, cacheControl: string, what: unknown): void {
  expect([what, r.status, r.body]).toEqual([what, 200, bytes]);
  expect([what, r.headers['cache-control'], r.headers['vary']]).toEqual([
    what,
    cacheControl,
    undefined,
  ]);
  expect([what, /^W\/"[0-9a-f]+-[0-9a-f]+"$/.test(r.headers['etag'] ?? '')]).toEqual([what, true]);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-word-hashes-'));
  for (const lane of ['stable', 'beta']) put(`${lane}/index.html`, `<html>${lane}</html>`);
  gw = await start();
});
afterEach(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(closeAll);

describe('AST-28 a word-like name while one lane has it: revalidated, never a year', () => {
  it.each(WORD_LIKE)(
    '%s: stable deploys, then beta deploys other bytes: beta visitors get beta bytes',
    async (rel) => {
      put(`stable/${rel}`, `STABLE-BYTES:${rel}`);
      const first = await ask(rel, 'stable');
      expectShared(first, `STABLE-BYTES:${rel}`, REVALIDATE, 'stable');
      const etag = first.headers['etag'] ?? '';
      // Lent to beta (it lacks the name): the same bytes, the same policy and validator.
      const lent = await ask(rel, 'beta');
      expectShared(lent, `STABLE-BYTES:${rel}`, REVALIDATE, 'beta');
      expect(lent.headers['etag']).toBe(etag);
      for (const [method, body] of [
        ['HEAD', ''],
        ['GET', `STABLE-BYTES:${rel}`],
      ] as const) {
        expectShared(await ask(rel, 'gamma', {}, method), body, REVALIDATE, ['gamma', method]);
        const again = await ask(rel, 'beta', { 'If-None-Match': etag }, method);
        expect([method, again.status, again.headers['cache-control']]).toEqual([
          method,
          304,
          REVALIDATE,
        ]);
      }
      // beta deploys its own file under the name: other bytes (another length, then the same).
      for (const bytes of [`BETA:${rel}`, `BETA-BYTES!:${rel}`]) {
        put(`beta/${rel}`, bytes);
        // A cache that kept stable's copy asks again with its validator: beta's bytes come back.
        const r = await ask(rel, 'beta', { 'If-None-Match': etag });
        expect([bytes, r.status, r.body]).toEqual([bytes, 200, bytes]);
        expect([r.headers['cache-control'], r.headers['vary']]).toEqual([
          PER_LANE,
          'Cookie, X-Gray-Id',
        ]);
        const stable = await ask(rel, 'stable');
        expect([stable.body, stable.headers['cache-control']]).toEqual([
          `STABLE-BYTES:${rel}`,
          PER_LANE,
        ]);
      }
    },
  );

  it.each(WORD_LIKE)('%s: beta deploys the same bytes later: then a year', async (rel) => {
    put(`beta/${rel}`, `SAME:${rel}`);
    expectShared(await ask(rel, 'beta'), `SAME:${rel}`, REVALIDATE, 'beta');
    expectShared(await ask(rel, 'stable'), `SAME:${rel}`, REVALIDATE, 'stable (lent)');
    put(`stable/${rel}`, `SAME:${rel}`);
    for (const visitor of ['stable', 'beta', 'gamma'])
      expectShared(await ask(rel, visitor), `SAME:${rel}`, YEAR, visitor);
  });

  it.each([
    ['a cookie set before the handler', 'before'],
    ['a cookie set when the head goes out', 'head'],
  ])('%s: private, still revalidated', async (_what, session) => {
    const rel = 'img/logo-FACEBOOK.png';
    put(`stable/${rel}`, 'LOGO');
    for (const method of ['GET', 'HEAD']) {
      const r = await ask(rel, 'beta', { 'X-Session': session }, method);
      expect([method, r.status, r.headers['cache-control']]).toEqual([method, 200, PER_LANE]);
      expect(r.headers['set-cookie']).toContain('sid=1');
    }
    // Once every lane agrees: the year, private on a response with a cookie (control shape).
    put(`beta/${rel}`, 'LOGO');
    const r = await ask(rel, 'beta', { 'X-Session': session });
    expect(r.headers['cache-control']).toBe(YEAR_PRIVATE);
  });

  it('every lane with a build counts: canary without a copy holds the year back', async () => {
    const s = await start(['stable', 'beta', 'canary', 'gamma']);
    put('canary/index.html', '<html>canary</html>');
    const rel = 'img/logo-FACEBOOK.png';
    for (const lane of ['stable', 'beta']) put(`${lane}/${rel}`, 'LOGO');
    for (const visitor of ['stable', 'beta', 'canary'])
      expectShared(await ask(rel, visitor, {}, 'GET', s), 'LOGO', REVALIDATE, visitor);
    put(`canary/${rel}`, 'LOGO');
    for (const visitor of ['stable', 'beta', 'canary', 'gamma'])
      expectShared(await ask(rel, visitor, {}, 'GET', s), 'LOGO', YEAR, visitor);
  });

  it('the visitor lane counts even when `lanes` leaves it out', async () => {
    const s = await start(['stable', 'beta', 'canary'], { lanes: ['beta'] });
    put('canary/index.html', '<html>canary</html>');
    const rel = 'hero-BANNER72.png';
    for (const lane of ['stable', 'beta']) put(`${lane}/${rel}`, 'HERO');
    expectShared(await ask(rel, 'canary', {}, 'GET', s), 'HERO', REVALIDATE, 'canary');
    put(`canary/${rel}`, 'OTHER');
    const own = await ask(rel, 'canary', {}, 'GET', s);
    expect([own.body, own.headers['cache-control']]).toEqual(['OTHER', PER_LANE]);
  });
});

describe('AST-28 what keeps its year (control)', () => {
  it.each(HASHED)(
    '%s, a real content hash: a year while one lane has it, and once shared',
    async (rel) => {
      put(`stable/${rel}`, `H:${rel}`);
      for (const visitor of ['stable', 'beta', 'gamma'])
        for (const method of ['GET', 'HEAD'])
          expectShared(
            await ask(rel, visitor, {}, method),
            method === 'HEAD' ? '' : `H:${rel}`,
            YEAR,
            [visitor, method],
          );
      put(`beta/${rel}`, `H:${rel}`);
      for (const visitor of ['stable', 'beta'])
        expectShared(await ask(rel, visitor), `H:${rel}`, YEAR, visitor);
    },
  );

  it('a lane without a build folder (gamma) does not hold the year back', async () => {
    const rel = 'menu-cafe2024.pdf';
    for (const lane of ['stable', 'beta']) put(`${lane}/${rel}`, 'MENU');
    for (const visitor of ['stable', 'beta', 'gamma'])
      expectShared(await ask(rel, visitor), 'MENU', YEAR, visitor);
  });

  it.each([
    ['a function', (p: string) => p.startsWith('img/')],
    ['a RegExp', /^img\//],
  ] as const)(
    'the `immutable` option (%s) vouches for the names it matches',
    async (_w, immutable) => {
      const s = await start(undefined, { immutable });
      const rel = 'img/logo-FACEBOOK.png';
      put(`stable/${rel}`, 'LOGO');
      for (const visitor of ['stable', 'beta'])
        expectShared(await ask(rel, visitor, {}, 'GET', s), 'LOGO', YEAR, visitor);
    },
  );
});
