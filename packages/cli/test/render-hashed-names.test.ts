/**
 * AST-25 nginx takes the same names for content hashes as `@graylane/node/assets` (review 137,
 * D2): `graylane render nginx --assets` puts `HASHED_NAME`'s own source in its `location`, and
 * real nginx (PCRE) is asked about every name of the Node suite's list — real bundler output
 * and names people give — put in beta's build alone: a stable visitor gets it (shared, a year)
 * exactly when `HASHED_NAME` matches it in JavaScript. The review's names (`hero-1920x1080.jpg`,
 * `roadmap-20250601.pdf`, …) are per lane. What nginx cannot do: compare the bytes of two
 * lanes' copies (the Node gateway does, AST-26), so a hashed name must be content.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HASHED_NAME } from '@graylane/node/assets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

const NAMES = JSON.parse(
  readFileSync(new URL('../../node/test/assets/hashed-names.json', import.meta.url), 'utf8'),
) as {
  readonly emitted: Readonly<Record<string, readonly string[]>>;
  readonly human: readonly string[];
};

/** Names a URL path carries as they are (no `%`, no leading dot: those are refused anyway). */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
const ALL = [...new Set([...NAMES.human, ...Object.values(NAMES.emitted).flat()])].filter(
  // HTML has its own location (the lane's own build, stamped).
  (n) => PLAIN.test(n) && !n.includes('/.') && !n.includes('//') && !/\.html?$/.test(n),
);
/** The review's names, in both builds with different bytes. */
const REVIEWED = [
  'img/hero-1920x1080.jpg',
  'og-image-1200x630.png',
  'icon-1024x1024.png',
  'splash-2048x2732.png',
  'v2-20241231.css',
  'img/roadmap-20250601.pdf',
];

const root = mkdtempSync(join(tmpdir(), 'graylane-hashed-names-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function put(rel: string, body: string): void {
  const path = join(root, 'web', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
}

/** nginx's workers may run as another user: every folder world-readable. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) openUp(p);
  }
}

function get(
  nginx: Nginx,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}> {
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

describe.skipIf(!NGINX)('AST-25 render nginx --assets: the same hashed names as Node', () => {
  let nginx: Nginx;
  beforeAll(async () => {
    for (const lane of ['stable', 'beta'])
      put(`${lane}/index.html`, `<html><head></head>${lane}</html>`);
    for (const name of ALL) put(`beta/${name}`, `beta:${name}`);
    for (const name of REVIEWED) {
      put(`stable/${name}`, `stable:${name}`);
      put(`beta/${name}`, `beta:${name}`);
    }
    put('stable/assets/app-7QZ3X2AB.js', 'stable:app');
    put('beta/assets/app-7QZ3X2AB.js', 'beta:app');
    const config = join(root, 'rules.json');
    writeFileSync(config, JSON.stringify({ versions: ['stable', 'beta'], default: 'stable' }));
    openUp(root);
    nginx = await startNginx([config, '--assets', `${join(root, 'web')}/`]);
  }, 60_000);
  afterAll(() => stopAllNginx());

  it('the location regex is HASHED_NAME.source', () => {
    expect(ALL.length).toBeGreaterThan(400);
    expect(HASHED_NAME.flags).toBe('');
  });

  it.each(
    ALL.filter((n) => !REVIEWED.includes(n)).map((name) => [name, HASHED_NAME.test(name)] as const),
  )('%s, in beta only, to a stable visitor: shared %s', async (name, hashed) => {
    const r = await get(nginx, `/${name}`);
    if (hashed) {
      expect([name, r.status, r.body]).toEqual([name, 200, `beta:${name}`]);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    } else {
      expect([name, r.status]).toEqual([name, 404]);
      expect(r.headers['cache-control']).toBe('no-store');
    }
  });

  it.each(REVIEWED)('%s: each lane its own copy, per lane', async (name) => {
    for (const [lane, headers] of [
      ['stable', {}],
      ['beta', { cookie: 'gray=beta' }],
    ] as const) {
      const r = await get(nginx, `/${name}`, headers);
      expect([r.status, r.body]).toEqual([200, `${lane}:${name}`]);
      expect(r.headers['cache-control']).toBe('private, no-cache');
      expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
    }
  });

  it('what nginx cannot do: a hashed name whose copies differ is still shared (documented)', async () => {
    const r = await get(nginx, '/assets/app-7QZ3X2AB.js', { cookie: 'gray=beta' });
    expect([r.body, r.headers['cache-control']]).toEqual([
      'beta:app',
      'public, max-age=31536000, immutable',
    ]);
  });
});
