/**
 * AST-26 a name shared by the lanes is shared only when its bytes are (review 137, D2). The review
 * served `hero-1920x1080.jpg` of beta and of stable both `public, max-age=31536000, immutable`
 * without `Vary` (a CDN keeps whichever lane's came first, for a year, for everyone) and
 * `roadmap-20250601.pdf`, beta's alone, to stable visitors by path. Names people give are per
 * lane now (AST-25); and a name that does look content-addressed is only shared when no two
 * lanes hold different bytes under it: else the visitor's lane's copy is served per lane, and a
 * lane without a copy gets none. Real graylane middleware, every carrier.
 */
import http from 'node:http';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssetLanes, type AssetLanesOptions } from '../../src/assets/index.js';
import { MAX_COMPARED_BYTES } from '../../src/assets/limits.js';
import { createGraylane } from '../../src/index.js';
import { listen, type Running } from '../helpers.js';
import { rawRequest, type RawResponse } from './raw.js';

const CONFIG = { versions: ['stable', 'beta', 'canary', 'gamma'], default: 'stable' };
const PER_LANE = 'private, no-cache';
const SHARED = 'public, max-age=31536000, immutable';

/** A visitor's marker, by carrier (rotated over the rows). */
const CARRIERS: readonly ((lane: string) => { headers: Record<string, string>; query: string })[] =
  [
    (lane) => ({ headers: { 'X-Gray-Id': lane }, query: '' }),
    (lane) => ({ headers: { Cookie: `gray=${lane}` }, query: '' }),
    (lane) => ({ headers: {}, query: `?gray=${lane}` }),
  ];

let dir: string;
const put = (rel: string, body: string | Buffer): string => {
  const path = join(dir, 'web', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  return path;
};
const body = (lane: string, rel: string) => `${lane.toUpperCase()}:${rel}`;

async function gateway(extra: Partial<AssetLanesOptions> = {}) {
  const gray = createGraylane({ config: CONFIG, precedence: ['query', 'header', 'cookie'] });
  const assets = createAssetLanes({ root: join(dir, 'web'), fallback: 'stable', ...extra });
  const running = await listen(
    http.createServer((req, res) => gray.handle(req, res, () => assets(req, res))),
  );
  return Object.assign(running, { stats: () => assets.stats() });
}

const ask = (
  s: Running,
  rel: string,
  visitor: string,
  row: number,
  extra: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> => {
  const { headers, query } = CARRIERS[row % CARRIERS.length]!(visitor);
  return rawRequest(s.port, `/${rel}${query}`, { ...headers, ...extra }, method);
};

/** The lane's own copy, per lane: `Vary`, `private, no-cache`, an ETag naming the lane. */
function expectPerLane(r: RawResponse, lane: string, rel: string): void {
  expect([r.status, r.body]).toEqual([200, body(lane, rel)]);
  expect(r.headers['cache-control']).toBe(PER_LANE);
  expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
  expect(r.headers['etag']?.startsWith(`W/"${lane}-`)).toBe(true);
}

/** The review's names: sizes, dates, versions. Different bytes in stable and beta. */
const REVIEWED = [
  'img/hero-1920x1080.jpg',
  'og-image-1200x630.png',
  'icon-1024x1024.png',
  'splash-2048x2732.png',
  'v2-20241231.css',
  'app-v1234567.js',
  'build-12345678.js',
  'favicon-32x32.png',
  'img/apple-touch-icon-180x180.png',
  'docs/report-2025-06-01.pdf',
] as const;
/** Never taken for hashes, before the review either. */
const CONTROLS = new Set<string>([
  'favicon-32x32.png',
  'img/apple-touch-icon-180x180.png',
  'docs/report-2025-06-01.pdf',
]);
/** Gated: beta alone has them. */
const BETA_ONLY = ['img/roadmap-20250601.pdf', 'img/og-beta-1200x630.png', 'promo-20251231.js'];
/** Names that do look content-addressed (real bundler shapes, and two lookalikes). */
const LOOKALIKE = [
  'assets/app-7QZ3X2AB.js',
  'assets/index-BdK3kF9a.js',
  'static/js/main.5d58cadf.js',
  '_next/static/chunks/framework-4ed89e9640adfb9e.js',
  'img/logo-FACEBOOK.png',
  'menu-cafe2024.pdf',
] as const;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-shared-names-'));
  for (const lane of ['stable', 'beta', 'canary'])
    put(`${lane}/index.html`, `<html>${lane}</html>`);
  for (const lane of ['stable', 'beta']) {
    for (const rel of [...REVIEWED, ...LOOKALIKE]) put(`${lane}/${rel}`, body(lane, rel));
    // Same size in both lanes, other bytes.
    put(`${lane}/assets/same-size-Ab3dE5fG.js`, body(lane === 'beta' ? 'bet' : 'sta', 'x'));
    // A Vite chunk without a digit, made immutable by the documented option.
    put(`${lane}/assets/chunk1-BWWrtsXX.js`, body(lane, 'assets/chunk1-BWWrtsXX.js'));
  }
  for (const rel of BETA_ONLY) put(`beta/${rel}`, body('beta', rel));
  // The same bytes in two lanes (a chunk both builds share), copied: one shared file.
  for (const lane of ['stable', 'beta']) put(`${lane}/assets/vendor-K4M7P2CD.js`, 'VENDOR');
  // A hard link: the same file.
  const linked = put('stable/assets/linked-a1b2c3d4.js', 'LINKED');
  mkdirSync(join(dir, 'web/beta/assets'), { recursive: true });
  linkSync(linked, join(dir, 'web/beta/assets/linked-a1b2c3d4.js'));
  // Over the compared size, the same (sparse, all zero) bytes in two files: not compared.
  for (const lane of ['stable', 'beta']) {
    const big = put(`${lane}/media/film-9f8e7d6c.mp4`, '');
    truncateSync(big, MAX_COMPARED_BYTES + 1);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AST-26 names people give: per lane, never lent to another lane', () => {
  let s: Awaited<ReturnType<typeof gateway>>;
  beforeAll(async () => {
    s = await gateway();
  });
  afterAll(() => s.close());

  it.each(REVIEWED.map((rel, i) => [rel, CONTROLS.has(rel) ? ' (control)' : '', i] as const))(
    '%s in stable and beta: each visitor its own lane copy, per lane%s',
    async (rel, _control, i) => {
      for (const lane of ['stable', 'beta'])
        expectPerLane(await ask(s, rel, lane, i + lane.length), lane, rel);
      // canary has no copy: a 404, never another lane's; gamma is on stable's build.
      expect((await ask(s, rel, 'canary', i)).status).toBe(404);
      expectPerLane(await ask(s, rel, 'gamma', i + 1), 'stable', rel);
    },
  );

  it.each(BETA_ONLY.map((rel, i) => [rel, i] as const))(
    '%s, beta alone has it: beta visitors only',
    async (rel, i) => {
      expectPerLane(await ask(s, rel, 'beta', i), 'beta', rel);
      for (const [k, visitor] of ['stable', 'canary', 'gamma'].entries())
        expect([visitor, (await ask(s, rel, visitor, i + k)).status]).toEqual([visitor, 404]);
    },
  );
});

describe('AST-26 a content-addressed name whose copies differ: per lane', () => {
  let s: Awaited<ReturnType<typeof gateway>>;
  beforeAll(async () => {
    s = await gateway();
  });
  afterAll(() => s.close());

  it.each([...LOOKALIKE, 'assets/same-size-Ab3dE5fG.js'].map((rel, i) => [rel, i] as const))(
    '%s: each lane its own copy, per lane; a lane without one gets none',
    async (rel, i) => {
      const before = s.stats();
      for (const lane of ['stable', 'beta']) {
        const r = await ask(s, rel, lane, i + lane.length);
        const own = rel.startsWith('assets/same-size')
          ? body(lane === 'beta' ? 'bet' : 'sta', 'x')
          : body(lane, rel);
        expect([r.status, r.body]).toEqual([200, own]);
        expect(r.headers['cache-control']).toBe(PER_LANE);
        expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
        expect(r.headers['etag']?.startsWith(`W/"${lane}-`)).toBe(true);
      }
      expect((await ask(s, rel, 'canary', i)).status).toBe(404);
      const after = s.stats();
      expect(after.conflicts - before.conflicts).toBe(3);
      expect((after.misses.conflict ?? 0) - (before.misses.conflict ?? 0)).toBe(1);
    },
  );

  it('HEAD and If-None-Match answer like the GET: the lane ETag, 304 in its lane only', async () => {
    const rel = 'assets/app-7QZ3X2AB.js';
    const head = await ask(s, rel, 'beta', 0, {}, 'HEAD');
    expect([head.status, head.body, head.headers['cache-control']]).toEqual([200, '', PER_LANE]);
    const etag = head.headers['etag'] ?? '';
    expect((await ask(s, rel, 'beta', 1, { 'If-None-Match': etag })).status).toBe(304);
    expect((await ask(s, rel, 'stable', 1, { 'If-None-Match': etag })).status).toBe(200);
  });

  it('the same bytes (copied, or a hard link) in two lanes: one shared file, lent to the others (control)', async () => {
    for (const [rel, bytes] of [
      ['assets/vendor-K4M7P2CD.js', 'VENDOR'],
      ['assets/linked-a1b2c3d4.js', 'LINKED'],
    ] as const) {
      for (const [k, visitor] of ['stable', 'beta', 'canary', 'gamma'].entries()) {
        const r = await ask(s, rel, visitor, k);
        expect([visitor, r.status, r.body]).toEqual([visitor, 200, bytes]);
        expect(r.headers['cache-control']).toBe(SHARED);
        expect(r.headers['vary']).toBeUndefined();
      }
    }
  });

  it(`copies over ${MAX_COMPARED_BYTES} bytes are not compared: per lane`, async () => {
    const r = await ask(s, 'media/film-9f8e7d6c.mp4', 'beta', 0, {}, 'HEAD');
    expect([r.status, r.headers['cache-control'], r.headers['vary']]).toEqual([
      200,
      PER_LANE,
      'Cookie, X-Gray-Id',
    ]);
    expect((await ask(s, 'media/film-9f8e7d6c.mp4', 'canary', 1, {}, 'HEAD')).status).toBe(404);
  });

  it('a deploy that changes one copy changes the answer (same size, same mtime too)', async () => {
    const rel = 'assets/deploy-Zq4m7Kx2.js';
    const paths = ['stable', 'beta'].map((lane) => put(`${lane}/${rel}`, 'v1:same-bytes'));
    const when = new Date('2026-01-01T00:00:00Z');
    for (const p of paths) utimesSync(p, when, when);
    expect((await ask(s, rel, 'canary', 0)).headers['cache-control']).toBe(SHARED);
    // beta rebuilt: other bytes, same size, the same modification time (rsync -t).
    writeFileSync(paths[1]!, 'v1:beta-bytes');
    utimesSync(paths[1]!, when, when);
    const r = await ask(s, rel, 'beta', 1);
    expect([r.body, r.headers['cache-control'], r.headers['vary']]).toEqual([
      'v1:beta-bytes',
      PER_LANE,
      'Cookie, X-Gray-Id',
    ]);
    expect((await ask(s, rel, 'canary', 2)).status).toBe(404);
    // And back: shared again.
    writeFileSync(paths[1]!, 'v1:same-bytes');
    expect((await ask(s, rel, 'canary', 0)).headers['cache-control']).toBe(SHARED);
  });
});

describe('AST-26 the immutable option is held to the same bytes', () => {
  it('Vite `assets/` chunks that differ between lanes are per lane', async () => {
    const s = await gateway({ immutable: (p) => p.startsWith('assets/') });
    const rel = 'assets/chunk1-BWWrtsXX.js';
    for (const [k, lane] of ['stable', 'beta'].entries())
      expectPerLane(await ask(s, rel, lane, k), lane, rel);
    expect((await ask(s, rel, 'canary', 2)).status).toBe(404);
    const shared = await ask(s, 'assets/vendor-K4M7P2CD.js', 'canary', 0);
    expect([shared.body, shared.headers['cache-control']]).toEqual(['VENDOR', SHARED]);
    await s.close();
  });
});
