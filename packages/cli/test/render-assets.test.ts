import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

/**
 * `graylane render nginx --assets <root>`, run by real nginx: front-end asset lanes with one build
 * per version in `<root>/<version>/` (the layout `@graylane/node/assets` serves). Stable and beta
 * visitors get their own HTML and assets; `canary`, a version without a build, gets stable's
 * build and is still told `canary` (lane fallback); HTML varies by lane and is never shared;
 * content-hashed assets are cached a year and found in any build.
 */
const VERSIONS = ['stable', 'beta', 'canary'] as const;
const HASH = { stable: 'app-7QZ3X2AB.js', beta: 'app-K4M9P2CD.js' } as const;

const root = mkdtempSync(join(tmpdir(), 'graylane-assets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Builds `<root>/web/<version>/` for stable and beta (canary has none), world-readable for nginx's workers. */
function buildLanes(): { web: string; config: string } {
  const web = join(root, 'web');
  for (const v of ['stable', 'beta'] as const) {
    mkdirSync(join(web, v, 'assets'), { recursive: true });
    mkdirSync(join(web, v, 'docs'), { recursive: true });
    writeFileSync(
      join(web, v, 'index.html'),
      `<!doctype html><html><head><title>${v}</title><script src="/assets/${HASH[v]}"></script></head><body>build ${v}</body></html>`,
    );
    writeFileSync(
      join(web, v, 'docs', 'index.html'),
      `<html><head></head><body>docs ${v}</body></html>`,
    );
    writeFileSync(join(web, v, 'assets', HASH[v]), `console.log('${v} bundle');`);
    writeFileSync(join(web, v, 'robots.txt'), `robots ${v}`);
  }
  const config = join(root, 'rules.json');
  writeFileSync(config, JSON.stringify({ versions: VERSIONS, default: 'stable' }));
  for (const p of [
    root,
    web,
    ...['stable', 'beta'].flatMap((v) => [
      join(web, v),
      join(web, v, 'assets'),
      join(web, v, 'docs'),
    ]),
  ])
    chmodSync(p, 0o755);
  return { web, config };
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}
/** A raw GET (no URL normalisation by the client: `/../` reaches nginx as sent). */
function get(nginx: Nginx, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: nginx.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
const meta = (v: string) => `<head><meta name="graylane-version" content="${v}"><title>`;

describe.skipIf(!NGINX)('render nginx --assets: front-end asset lanes on real nginx', () => {
  let nginx: Nginx;
  beforeAll(async () => {
    const { web, config } = buildLanes();
    nginx = await startNginx([config, '--assets', `${web}/`]);
  }, 60_000);
  afterAll(() => stopAllNginx());

  /** [visitor, request headers, the lane it is told, the build it gets]. */
  const VISITORS: readonly [string, Record<string, string>, string, 'stable' | 'beta'][] = [
    ['a new visitor', {}, 'stable', 'stable'],
    ['beta by the __Host-gray cookie (https)', { cookie: '__Host-gray=beta' }, 'beta', 'beta'],
    ['beta by the gray cookie', { cookie: 'gray=beta' }, 'beta', 'beta'],
    ['beta by the header', { 'x-gray-id': 'beta' }, 'beta', 'beta'],
    [
      'canary (no build): stable build, still told canary',
      { cookie: 'gray=canary' },
      'canary',
      'stable',
    ],
    ['canary by the header', { 'x-gray-id': 'canary' }, 'canary', 'stable'],
    ['an unknown version', { cookie: 'gray=gamma' }, 'stable', 'stable'],
    ['BETA (case-sensitive)', { cookie: 'gray=BETA' }, 'stable', 'stable'],
    ['beta.x', { 'x-gray-id': 'beta.x' }, 'stable', 'stable'],
    ['a tossed cookie (two values)', { cookie: 'gray=beta; gray=stable' }, 'stable', 'stable'],
    ['__Host-gray wins over gray', { cookie: 'gray=stable; __Host-gray=beta' }, 'beta', 'beta'],
  ];

  it.each(VISITORS)(
    '%s: the HTML of its build, told its lane, per-lane caching',
    async (_name, headers, lane, build) => {
      for (const path of ['/', '/index.html']) {
        const r = await get(nginx, path, headers);
        expect(r.status).toBe(200);
        expect(r.body).toContain(`build ${build}`);
        expect(r.body).toContain(meta(lane));
        expect(r.body.match(/graylane-version/g)).toHaveLength(1);
        expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
        expect(r.headers['cache-control']).toBe('private, no-cache');
        expect(r.headers['x-gray-route']).toBe(lane);
      }
      const docs = await get(nginx, '/docs/', headers);
      expect(docs.body).toContain(`docs ${build}`);
      const robots = await get(nginx, '/robots.txt', headers);
      expect(robots.body).toBe(`robots ${build}`);
      expect(robots.headers['vary']).toBe('Cookie, X-Gray-Id');
    },
  );

  it.each(VISITORS)('%s: its bundle, immutable', async (_name, headers, _lane, build) => {
    const r = await get(nginx, `/assets/${HASH[build]}`, headers);
    expect(r.status).toBe(200);
    expect(r.body).toBe(`console.log('${build} bundle');`);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['vary']).toBeUndefined();
  });

  it.each([
    [
      'a beta visitor asks for the stable bundle (an old page still open)',
      { cookie: 'gray=beta' },
      'stable',
    ],
    ['a stable visitor asks for the beta bundle (switched lanes mid-session)', {}, 'beta'],
  ] as const)(
    '%s: found in the other build (the name is the content)',
    async (_n, headers, build) => {
      const r = await get(nginx, `/assets/${HASH[build]}`, headers);
      expect(r.status).toBe(200);
      expect(r.body).toBe(`console.log('${build} bundle');`);
    },
  );

  it.each([
    ['a missing page', '/nope.html', 404],
    ['a missing hashed asset', '/assets/app-00000000.js', 404],
    ['traversal to another lane', '/../beta/index.html', 400],
    ['encoded traversal', '/%2e%2e/%2e%2e/etc/passwd', 400],
    ['a dotted build name as a path', '/beta/index.html', 404],
  ] as const)("%s → %s, never another lane's or an outside file", async (_n, path, status) => {
    const r = await get(nginx, path);
    expect(r.status).toBe(status);
    expect(r.body).not.toContain('build beta');
    expect(r.body).not.toContain('root:');
  });
});
