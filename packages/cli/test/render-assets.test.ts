import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';
import { freePort, NGINX, startNginx, stopAllNginx, type Nginx } from './nginx-harness.js';

/**
 * `graylane render nginx --assets <root>`, run by real nginx: front-end asset lanes with one build
 * per version in `<root>/<version>/` (the layout `@graylane/node/assets` serves). Stable and beta
 * visitors get their own HTML and assets; `canary`, a version without a build, gets stable's
 * build and is still told `canary` (lane fallback); HTML varies by lane and is never shared;
 * content-hashed assets are cached a year and found in any build; any other file comes from the
 * visitor's build only (beta's gated `flags.json`, `roadmap.pdf` are not stable's to take). `v4`
 * is a symlinked build (`ln -sfn ../releases/42 v4`); v5…v16 fill the config to its 16 versions,
 * with one hashed file in `v10` (the 10th build looked through) and one in `v11` (past nginx's
 * redirect limit).
 */
const FILLERS = Array.from({ length: 12 }, (_v, i) => `v${i + 5}`);
const VERSIONS = ['stable', 'beta', 'canary', 'v4', ...FILLERS] as const;
const HASH = { stable: 'app-7QZ3X2AB.js', beta: 'app-K4M7P2CD.js' } as const;
/** Unhashed files only beta (a gated lane) has: a visitor of another lane must not get them. */
const GATED = ['/flags.json', '/roadmap.pdf', '/logo.svg', '/sw.js'] as const;

const root = mkdtempSync(join(tmpdir(), 'graylane-assets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Rollup/Vite lazy chunks: an 8-character base64url hash that `HASHED_NAME` does not recognise
 * (mixed case without a digit: a word to any pattern), so they are per-lane files, its own lane's only.
 */
const CHUNKS = {
  stable: ['chunk1-BWWrtsXX.js', 'chunk18-NboBDm__.js'],
  beta: ['chunk14-BXWKuDBp.js', 'chunk2-CzyXwVut.js'],
} as const;
/** Same size, same mtime in both builds (reproducible builds, `rsync -t`): nginx's ETag agrees. */
const SAME_STAT = { stable: '{"lane":"stable"}', beta: '{"lane":"beta00"}' } as const;
const SAME_MTIME = 1_767_225_600;
/** The validators nginx derives from mtime and size by default, identical for both lanes. */
const STAT_VALIDATORS = {
  'if-none-match': `"${SAME_MTIME.toString(16)}-${SAME_STAT.beta.length.toString(16)}"`,
  'if-modified-since': new Date(SAME_MTIME * 1000).toUTCString(),
} as const;

/** Builds `<root>/web/<version>/` for stable and beta (canary has none), world-readable for nginx's workers. */
function buildLanes(): { web: string; config: string } {
  const web = join(root, 'web');
  writeFileSync(join(root, 'secret.txt'), 'TOP SECRET OUTSIDE');
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
    for (const c of CHUNKS[v]) writeFileSync(join(web, v, 'assets', c), `chunk ${c} ${v}`);
    writeFileSync(join(web, v, 'config.json'), SAME_STAT[v]);
    utimesSync(join(web, v, 'config.json'), SAME_MTIME, SAME_MTIME);
    writeFileSync(join(web, v, '.env'), `SECRET_${v}=1`);
    mkdirSync(join(web, v, '.git'));
    writeFileSync(join(web, v, '.git', 'config'), `[core] ${v}`);
    writeFileSync(join(web, v, 'assets', '.hidden-AB12CD34.js'), `SECRET hidden ${v}`);
  }
  writeFileSync(
    join(web, 'beta', 'beta-only.html'),
    '<html><head></head><body>build beta</body></html>',
  );
  // A gated lane's guessable unhashed files.
  for (const f of GATED) writeFileSync(join(web, 'beta', f.slice(1)), `GATED ${f}`);
  // Symlinks: out of the build (plain and hashed name), into another lane, inside the build.
  symlinkSync(join(root, 'secret.txt'), join(web, 'stable', 'link-out.txt'));
  symlinkSync(join(root, 'secret.txt'), join(web, 'stable', 'assets', 'linkout-AB12CD34.js'));
  symlinkSync('../beta/index.html', join(web, 'stable', 'link-beta.html'));
  symlinkSync('../beta/robots.txt', join(web, 'stable', 'link-beta.txt'));
  symlinkSync('robots.txt', join(web, 'stable', 'inner-link.txt'));
  // A lane deployed as a symlink to its release (`ln -sfn ../releases/42 web/v4`).
  const release = join(root, 'releases', '42');
  mkdirSync(join(release, 'assets'), { recursive: true });
  writeFileSync(join(release, 'index.html'), '<html><head></head><body>build v4</body></html>');
  writeFileSync(join(release, 'assets', 'only-v4-a1b2c3d4.js'), 'v4 bundle');
  writeFileSync(join(release, 'only-v4.txt'), 'v4 file');
  symlinkSync('../releases/42', join(web, 'v4'));
  for (const v of ['v10', 'v11']) {
    mkdirSync(join(web, v));
    writeFileSync(join(web, v, `only-${v}.txt`), `${v} file`);
    writeFileSync(join(web, v, `only-${v}-a1b2c3${v.slice(1).padStart(2, '0')}.js`), `${v} bundle`);
  }
  const config = join(root, 'rules.json');
  writeFileSync(config, JSON.stringify({ versions: VERSIONS, default: 'stable' }));
  for (const p of [
    root,
    web,
    join(root, 'releases'),
    release,
    join(release, 'assets'),
    join(web, 'v10'),
    join(web, 'v11'),
    ...['stable', 'beta'].flatMap((v) => [
      join(web, v),
      join(web, v, 'assets'),
      join(web, v, 'docs'),
      join(web, v, '.git'),
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

  /** Visitors of the three kinds of lane: default, own build, no build (fallback). */
  const LANES: readonly [string, Record<string, string>][] = [
    ['stable', {}],
    ['beta', { cookie: 'gray=beta' }],
    ['canary', { 'x-gray-id': 'canary' }],
  ];
  const perLane = (name: string, rows: readonly (readonly [string, string])[]) =>
    rows.flatMap(([n, path]) => LANES.map(([lane, h]) => [`${n} (${lane})`, path, h] as const));

  // What @graylane/node/assets refuses (docs/front-end-lanes.md, "What is refused").
  it.each(
    perLane('refused', [
      ['a dotfile', '/.env'],
      ['an encoded dotfile', '/%2eenv'],
      ['an encoded dotfile, upper case', '/%2Eenv'],
      ['a dot-folder', '/.git/config'],
      ['a dot-folder, encoded', '/%2egit/config'],
      ['a dot-folder as a folder', '/.git/'],
      ['a dotfile with a hashed name', '/assets/.hidden-AB12CD34.js'],
      ['an empty segment first', '//robots.txt'],
      ['an empty segment before a hashed file', '/assets//app-7QZ3X2AB.js'],
      ['an empty segment before a Vite chunk', '//assets/chunk1-BWWrtsXX.js'],
      ['a dot segment', '/./robots.txt'],
      ['a dot-dot segment inside the build', '/docs/../robots.txt'],
      ['an encoded dot segment', '/assets/%2e/app-7QZ3X2AB.js'],
      ['an encoded slash', '/assets%2fapp-7QZ3X2AB.js'],
      ['an encoded slash, upper case', '/assets%2Fchunk1-BWWrtsXX.js'],
      ['a folder without the trailing /', '/docs'],
      ['a folder without the trailing /, HTML-less', '/assets'],
      ['a symlink out of the build', '/link-out.txt'],
      ['a hashed-name symlink out of the build', '/assets/linkout-AB12CD34.js'],
      ["a symlink to another lane's page", '/link-beta.html'],
      ["a symlink to another lane's file", '/link-beta.txt'],
    ]),
  )('%s: %s → 404, not stored', async (_n, path, headers) => {
    const r = await get(nginx, path, headers);
    expect(r.status).toBe(404);
    expect(r.headers['cache-control']).toBe('no-store');
    for (const leak of ['SECRET', '[core]', 'robots ', 'build ', 'docs ', 'console.log', 'chunk '])
      expect(r.body).not.toContain(leak);
  });

  it.each(
    perLane('not refused', [
      ['a query with // and /.', '/robots.txt?next=//x/.env'],
      ['a query with %2f', '/robots.txt?a=%2f%2e'],
      ['a dot inside a name', '/assets/app-7QZ3X2AB.js?v=1.2'],
    ]),
  )('%s: %s is served', async (_n, path, headers) => {
    const r = await get(nginx, path, headers);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).not.toBe('no-store');
  });

  // A 404 for a content-hashed name must not be cached for a year: in a rolling deploy the file
  // appears a moment later, and a browser or CDN would keep the 404.
  it.each(
    perLane('a missing', [
      ['hashed file', '/assets/app-00000000.js'],
      ['hashed file (esbuild)', '/assets/main-NOTYET12.js'],
      ['hashed stylesheet', '/assets/index.3f9a1c0b.css'],
      ['hashed source map', '/assets/app-7QZ3X2AB.js.map'],
      ['Vite chunk', '/assets/chunk9-QwErTyUi.js'],
      ['page', '/nope.html'],
      ['file', '/nope.txt'],
      ['folder index', '/assets/'],
      ['hashed file past the 10 builds nginx looks through', '/only-v11-a1b2c311.js'],
    ]),
  )('%s: %s → 404, Cache-Control: no-store', async (_n, path, headers) => {
    const r = await get(nginx, path, headers);
    expect(r.status).toBe(404);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it.each(LANES)('%s: a 304 for a hashed file keeps its year', async (_lane, headers) => {
    const first = await get(nginx, '/assets/app-7QZ3X2AB.js', headers);
    const etag = String(first.headers['etag']);
    const r = await get(nginx, '/assets/app-7QZ3X2AB.js', { ...headers, 'if-none-match': etag });
    expect(r.status).toBe(304);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  /**
   * [file, the switch, the first lane's headers, the second's, what the second must get]. The
   * config.json rows fail on nginx's default `"<mtime>-<size>"` ETag; HTML rows guard
   * `sub_filter`, which drops the validators.
   */
  const SWITCHES: readonly [
    string,
    string,
    Record<string, string>,
    Record<string, string>,
    string,
  ][] = [
    ['/config.json', 'stable → beta', {}, { cookie: 'gray=beta' }, SAME_STAT.beta],
    ['/config.json', 'beta → stable', { cookie: 'gray=beta' }, {}, SAME_STAT.stable],
    ['/config.json', 'header beta → stable', { 'x-gray-id': 'beta' }, {}, SAME_STAT.stable],
    [
      '/',
      'stable → canary (same file, another lane)',
      {},
      { cookie: 'gray=canary' },
      meta('canary'),
    ],
    ['/index.html', 'canary → stable', { cookie: 'gray=canary' }, {}, meta('stable')],
    ['/docs/', 'stable → canary', {}, { 'x-gray-id': 'canary' }, 'content="canary"'],
  ];
  it.each(
    SWITCHES.flatMap((s) =>
      (['if-none-match', 'if-modified-since', 'both'] as const).map(
        (c) => [s[0], s[1], c, s[2], s[3], s[4]] as const,
      ),
    ),
  )(
    '%s, %s, revalidated by %s: the new lane gets its own bytes, never a 304',
    async (path, _n, conditional, from, to, expected) => {
      const first = await get(nginx, path, from);
      expect(first.status).toBe(200);
      // No validator that would match across lanes (nginx's is mtime-size, not the lane).
      expect(first.headers['etag']).toBeUndefined();
      // What a browser sends back: the validators it got, else the stat ones nginx would match.
      const validators: Record<string, string> = {
        'if-none-match': String(first.headers['etag'] ?? STAT_VALIDATORS['if-none-match']),
        'if-modified-since': String(
          first.headers['last-modified'] ?? STAT_VALIDATORS['if-modified-since'],
        ),
      };
      const cond =
        conditional === 'both' ? validators : { [conditional]: String(validators[conditional]) };
      const r = await get(nginx, path, { ...to, ...cond });
      expect(r.status).toBe(200);
      expect(r.body).toContain(expected);
      expect(r.headers['cache-control']).toBe('private, no-cache');
    },
  );

  /** [hashed file only one build has, its bytes]. */
  const ELSEWHERE: readonly [string, string][] = [
    ['/assets/only-v4-a1b2c3d4.js', 'v4 bundle'],
    ['/only-v10-a1b2c310.js', 'v10 bundle'],
  ];
  it.each(
    ELSEWHERE.flatMap(([path, body]) => LANES.map(([lane, h]) => [path, lane, h, body] as const)),
  )(
    '%s for a %s visitor: a hashed name, found in the build that has it (a page that switched lane mid-session)',
    async (path, _lane, headers, body) => {
      const r = await get(nginx, path, headers);
      expect(r.status).toBe(200);
      expect(r.body).toBe(body);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['vary']).toBeUndefined();
    },
  );

  /**
   * [unhashed file, the lanes whose build has it]. Only hashed names cross builds (as in
   * `@graylane/node/assets`): a gated lane's guessable file, a Vite chunk whose base64url hash
   * `HASHED_NAME` does not recognise, a file only a symlinked or far build has.
   */
  const OWN_ONLY: readonly (readonly [string, readonly string[]])[] = [
    ...GATED.map((f) => [f, ['beta']] as const),
    ...CHUNKS.stable.map((c) => [`/assets/${c}`, ['stable', 'canary']] as const),
    ...CHUNKS.beta.map((c) => [`/assets/${c}`, ['beta']] as const),
    ['/only-v4.txt', []],
    ['/only-v10.txt', []],
  ];
  it.each(
    OWN_ONLY.flatMap(([path, owners]) =>
      LANES.filter(([lane]) => !owners.includes(lane)).map(([lane, h]) => [path, lane, h] as const),
    ),
  )(
    "%s for a %s visitor: unhashed, not in its build → 404, not stored (never another lane's)",
    async (path, _lane, headers) => {
      const r = await get(nginx, path, headers);
      expect(r.status).toBe(404);
      expect(r.headers['cache-control']).toBe('no-store');
      for (const leak of ['GATED', 'chunk ', ' file']) expect(r.body).not.toContain(leak);
    },
  );

  it.each(
    OWN_ONLY.flatMap(([path, owners]) =>
      LANES.filter(([lane]) => owners.includes(lane)).map(([lane, h]) => [path, lane, h] as const),
    ),
  )('%s for a %s visitor: its own build has it, per lane', async (path, _lane, headers) => {
    const r = await get(nginx, path, headers);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('private, no-cache');
    expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
    expect(r.headers['etag']).toBeUndefined();
  });

  it.each([
    ["the own build's copy first (stable)", '/robots.txt', {}, 'robots stable'],
    ["the own build's copy first (beta)", '/robots.txt', { cookie: 'gray=beta' }, 'robots beta'],
    ['a symlinked build serves its visitors', '/only-v4.txt', { cookie: 'gray=v4' }, 'v4 file'],
    ['a symlinked build, its page', '/', { cookie: 'gray=v4' }, `content="v4"`],
    ["a symlinked build's hashed file, to others", '/assets/only-v4-a1b2c3d4.js', {}, 'v4 bundle'],
  ] as const)('%s', async (_n, path, headers, body) => {
    const r = await get(nginx, path, headers);
    expect(r.status).toBe(200);
    expect(r.body).toContain(body);
  });

  it.each(LANES.filter(([lane]) => lane !== 'beta'))(
    "%s: HTML is never taken from another lane's build",
    async (_lane, headers) => {
      const r = await get(nginx, '/beta-only.html', headers);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain('build beta');
    },
  );
});

/**
 * The user's own locations added to the rendered server, as docs/cli.md says to: an API proxied
 * by lane (`location ^~ /api/`, and a plain prefix `location /v2/`) and certbot's webroot
 * (`/.well-known/acme-challenge/`). None of the asset rules may reach them: not the HTML regex
 * locations (`/api/orders/`, `/api/report.html`), not the refusals (`%2F` in an API path, the
 * dot-folder `.well-known`), not the per-lane `Cache-Control` and `Vary`.
 */
describe.skipIf(!NGINX)('render nginx --assets: locations added to the server', () => {
  let nginx: Nginx;
  let api: Server;
  const dir = mkdtempSync(join(tmpdir(), 'graylane-assets-own-'));
  beforeAll(async () => {
    const web = join(dir, 'web');
    for (const v of ['stable', 'beta']) {
      mkdirSync(join(web, v), { recursive: true });
      writeFileSync(
        join(web, v, 'index.html'),
        `<html><head></head><body>build ${v}</body></html>`,
      );
    }
    const acme = join(dir, 'certbot', '.well-known', 'acme-challenge');
    mkdirSync(acme, { recursive: true });
    writeFileSync(join(acme, 'tok-123'), 'acme token');
    mkdirSync(join(dir, 'logs'));
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const config = join(dir, 'rules.json');
    writeFileSync(config, JSON.stringify({ versions: ['stable', 'beta'], default: 'stable' }));
    api = createServer((req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'cache-control': 'public, max-age=60',
      });
      res.end(JSON.stringify({ api: req.url }));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const upstream = `127.0.0.1:${(api.address() as AddressInfo).port}`;
    const port = await freePort();
    const lines = execFileSync(
      process.execPath,
      [BIN, 'render', 'nginx', config, '--assets', web, '--listen', `127.0.0.1:${port}`].concat([
        '--upstream',
        `stable=${upstream}`,
        '--upstream',
        `beta=${upstream}`,
      ]),
      { encoding: 'utf8' },
    ).split('\n');
    lines.splice(
      lines.lastIndexOf('}'),
      0,
      '    location ^~ /api/ { proxy_pass http://$graylane_upstream; }',
      '    location /v2/ { proxy_pass http://$graylane_upstream; }',
      `    location /.well-known/acme-challenge/ { root ${join(dir, 'certbot')}; }`,
    );
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t}_temp_path ${dir};`)
      .join(' ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; daemon off; events {} http { access_log off; ${temp}\n${lines.join('\n')}\n}\n`,
    );
    const proc = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: 'ignore',
    });
    nginx = { port, dir, stop: () => proc.kill('SIGTERM') };
    for (let i = 0; i < 300 && proc.exitCode === null; i++) {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('nginx did not come up');
  }, 60_000);
  afterAll(() => {
    nginx?.stop();
    api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['/api/orders'],
    ['/api/orders/'],
    ['/api/'],
    ['/api/report.html'],
    ['/api/files/a%2Fb'],
    ['/api/app-7QZ3X2AB.js'],
    ['/api/.well-known/x'],
    ['/v2/orders/'],
    ['/v2/report.htm'],
  ])('%s reaches the API: 200, its own Cache-Control only, no Vary', async (path) => {
    const r = await get(nginx, path, { cookie: 'gray=beta' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ api: path });
    expect(r.headers['cache-control']).toBe('public, max-age=60');
    expect(r.headers['vary']).toBeUndefined();
    expect(r.headers['x-gray-route']).toBeUndefined();
  });

  it('/.well-known/acme-challenge/<token> is served (certbot webroot renewals)', async () => {
    const r = await get(nginx, '/.well-known/acme-challenge/tok-123');
    expect(r.status).toBe(200);
    expect(r.body).toBe('acme token');
    expect(r.headers['cache-control']).toBeUndefined();
    expect(r.headers['vary']).toBeUndefined();
  });

  it.each([
    ['/', 200, 'build beta'],
    ['/.env', 404, ''],
    ['//index.html', 404, ''],
    ['/a%2Fb', 404, ''],
  ] as const)('%s is still an asset path: %s', async (path, status, body) => {
    const r = await get(nginx, path, { cookie: 'gray=beta' });
    expect(r.status).toBe(status);
    expect(r.body).toContain(body);
    expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
  });
});
