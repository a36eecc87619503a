/**
 * AST-27 / AST-28 through a real shared cache (review 173 D1, D2): nginx `proxy_cache` in front of
 * the docs' express and `node:http` gateways, keeping a 404 sent without `Cache-Control` for 10 s
 * (CloudFront's default error caching) and anything else as its headers say. A stable visitor's
 * miss for a file only beta has (or canary's conflict miss) was stored and served to the next
 * beta visitor; `logo-FACEBOOK.png`, stable's alone, was stored for a year and served to beta
 * visitors after beta deployed its own. Now the beta visitor gets beta's file. Needs nginx
 * (Debian `nginx`; skipped without it, a failure under CI=true).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graylaneExpress } from '../../src/adapters/express.js';
import { createAssetLanes } from '../../src/assets/index.js';
import { createGraylane } from '../../src/index.js';
import { closeAll, listen } from '../helpers.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!NGINX && process.env['CI'] === 'true') throw new Error('nginx is required under CI=true');
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

let dir = '';
let nginx: ChildProcess | undefined;
/** The nginx port in front of each form. */
const front = new Map<string, number>();
const put = (rel: string, body: string): void => {
  const path = join(dir, 'web', rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
};

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** The docs' two setups. */
async function upstreams(): Promise<Map<string, number>> {
  const root = join(dir, 'web');
  const app = express();
  app.use(graylaneExpress({ config: CONFIG, sticky: { httpOnly: false } }));
  app.get('/api/hello', (_req: Request, res: Response) => res.json({ ok: true }));
  app.use(createAssetLanes({ root, fallback: CONFIG.default }));
  const gray = createGraylane({ config: CONFIG, sticky: { httpOnly: false } });
  const assets = createAssetLanes({ root, fallback: 'stable' });
  const plain = http.createServer((req, res) => gray.handle(req, res, () => assets(req, res)));
  return new Map([
    ['express', (await listen(http.createServer(app))).port],
    ['node:http', (await listen(plain)).port],
  ]);
}

async function up(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly cache: string | null;
}
async function through(form: string, path: string, lane: string): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${front.get(form)}${path}`, {
    headers: { Cookie: `gray=${lane}` },
  });
  return { status: r.status, body: await r.text(), cache: r.headers.get('x-cache') };
}

beforeAll(async () => {
  if (!NGINX) return;
  dir = mkdtempSync(join(tmpdir(), 'graylane-cdn-'));
  // nginx's workers run as an unprivileged user when the master is root: they must get in.
  chmodSync(dir, 0o755);
  for (const lane of ['stable', 'beta', 'canary'])
    put(`${lane}/index.html`, `<html>${lane}</html>`);
  for (const rel of ['flags.json', 'sw.js', 'promo.html', 'launch/index.html'])
    put(`beta/${rel}`, `BETA:${rel}`);
  for (const lane of ['stable', 'beta']) put(`${lane}/assets/app-7QZ3X2AB.js`, `${lane} app`);
  put('stable/img/logo-FACEBOOK.png', 'STABLE-LOGO');
  chmodSync(join(dir, 'web'), 0o755);
  const origins = await upstreams();
  for (let attempt = 0; ; attempt++) {
    const servers: string[] = [];
    for (const [form, origin] of origins) {
      const port = await freePort();
      front.set(form, port);
      servers.push(`server { listen 127.0.0.1:${port}; location / {
        proxy_pass http://127.0.0.1:${origin}; proxy_cache cdn; proxy_cache_valid 404 10s;
        add_header X-Cache $upstream_cache_status always; } }`);
    }
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t}_temp_path ${dir}/tmp-${t};`)
      .join(' ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid; error_log ${dir}/error.log; daemon off; events {} http { access_log off; ${temp}
proxy_cache_path ${dir}/cache levels=1:2 keys_zone=cdn:1m max_size=10m inactive=1h;
${servers.join('\n')} }\n`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 200 && nginx.exitCode === null; i++) {
      if ((await Promise.all([...front.values()].map(up))).every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    nginx.kill('SIGKILL');
    const log = existsSync(join(dir, 'error.log'))
      ? readFileSync(join(dir, 'error.log'), 'utf8')
      : '';
    if (attempt < 2 && /in use/.test(log)) continue;
    throw new Error(`nginx did not come up: ${log}`);
  }
}, 30_000);
afterAll(async () => {
  nginx?.kill('SIGTERM');
  await closeAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

(NGINX ? describe : describe.skip).each(['express', 'node:http'])(
  'behind nginx proxy_cache: %s',
  (form) => {
    it.each([
      ['AST-27 a file only beta has', '/flags.json', 'stable', 'BETA:flags.json'],
      ['AST-27 a service worker only beta has', '/sw.js', 'stable', 'BETA:sw.js'],
      ['AST-27 an HTML page only beta has', '/promo.html', 'stable', 'BETA:promo.html'],
      ['AST-27 a folder index only beta has', '/launch/', 'canary', 'BETA:launch/index.html'],
      ['AST-27 the conflict miss', '/assets/app-7QZ3X2AB.js', 'canary', 'beta app'],
    ] as const)(
      '%s (%s): the %s visitor’s 404 is not stored; the beta visitor then gets the file',
      async (_what, path, first, beta) => {
        const url = `${path}?row=${form}`;
        for (let i = 0; i < 2; i++) {
          const miss = await through(form, url, first);
          expect([i, miss.status, miss.cache]).toEqual([i, 404, 'MISS']);
        }
        const r = await through(form, url, 'beta');
        expect([r.status, r.body.includes(beta)]).toEqual([200, true]);
      },
    );

    it('AST-28 logo-FACEBOOK.png, stable’s alone, then beta deploys its own: beta visitors get it', async () => {
      const url = `/img/logo-FACEBOOK.png?row=${form}`;
      for (const lane of ['stable', 'beta']) {
        const r = await through(form, url, lane);
        expect([lane, r.status, r.body]).toEqual([lane, 200, 'STABLE-LOGO']);
      }
      put('beta/img/logo-FACEBOOK.png', 'BETA-LOGO!!');
      for (let i = 0; i < 2; i++) {
        const beta = await through(form, url, 'beta');
        expect([i, beta.status, beta.body]).toEqual([i, 200, 'BETA-LOGO!!']);
        expect((await through(form, url, 'stable')).body).toBe('STABLE-LOGO');
      }
      // Put back for the other form's row (the gateways share the folder).
      rmSync(join(dir, 'web/beta/img/logo-FACEBOOK.png'));
    });

    it('AST-28 a real content hash is still kept by the cache (control)', async () => {
      put('stable/assets/main-5TAB3E22.js', 'MAIN');
      const url = `/assets/main-5TAB3E22.js?row=${form}`;
      expect((await through(form, url, 'stable')).cache).toBe('MISS');
      const again = await through(form, url, 'beta');
      expect([again.body, again.cache]).toEqual(['MAIN', 'HIT']);
    });
  },
);
