/**
 * Files missing from the visitor's lane, behind real express and the real graylane middleware
 * (found by an outside-style review). After a QA switch (`?gray=beta`) or a cookie change in
 * mid-session, the page already loaded asks for its lazy chunks with another lane's marker. A
 * Vite build names them `[name]-[hash]` with an 8-character base64url hash (`chunk1-BWWrtsXX.js`,
 * `chunk14-Bw-ODF9K.js`) that `HASHED_NAME` does not always recognise: with the documented
 * `immutable: (p) => p.startsWith('assets/')` they are all found in the other lanes. Only
 * content-addressed files cross (a name `HASHED_NAME` recognises, or one `immutable` matches):
 * an unhashed file a gated lane alone has (`flags.json`, `roadmap.pdf`, an SVG) is a 404 to
 * everyone else (4d9f423 served it), answered by the gateway and stored by no shared cache. The other lanes are the versions of the config in force,
 * from the first request of the process, then the versions the handler has served.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore } from '@graylane/core';
import { graylaneExpress } from '../../src/adapters/express.js';
import { createGraylane } from '../../src/index.js';
import { HASHED_NAME, createAssetLanes, type AssetLanesOptions } from '../../src/assets/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { rawRequest, type RawResponse } from './raw.js';

/** File names of a real Vite 8 build, two lanes (names only: the bodies are written here). */
const VITE = JSON.parse(readFileSync(new URL('./vite-names.json', import.meta.url), 'utf8')) as {
  readonly stable: readonly string[];
  readonly beta: readonly string[];
  readonly other: readonly string[];
};

const CONFIG = { versions: ['stable', 'beta', 'canary', 'gamma'], default: 'stable' };
/** Lanes with a build (gamma has none: its visitors get the fallback, stable). */
const BUILT = ['stable', 'beta', 'canary'] as const;
const VISITORS = ['stable', 'beta', 'canary', 'gamma'] as const;

/** A visitor's marker, by carrier (rotated over the rows: every carrier moves the lane). */
const CARRIERS: readonly ((lane: string) => { headers: Record<string, string>; query: string })[] =
  [
    (lane) => ({ headers: { 'X-Gray-Id': lane }, query: '' }),
    (lane) => ({ headers: { Cookie: `gray=${lane}` }, query: '' }),
    (lane) => ({ headers: {}, query: `?gray=${lane}` }),
  ];

/** Names a bundler does not emit with a hash, or words: never cached for a year. */
const ORDINARY = [
  'sw.js',
  'app.js',
  'config.json',
  'component-library-v2.js',
  'app-settings.js',
  'pages-Settings.js',
  'HomePage.js',
  'assets/my-component-library.js',
  'assets/vendor.bundle.js',
  'assets/MyWidget-HomePage.js',
  'assets/use-feature-flags.js',
  'assets/logo.svg',
  'assets/Inter-Regular.woff2',
  'locales/en-US.json',
  'manifest.webmanifest',
  'assets/chunk-vendors.js',
  'assets/react-dom_client.js',
  'assets/date-fns_locale.js',
  'flags.json',
  'roadmap.pdf',
  'page.svg',
  'internal/launch-plan.txt',
];

/** HTML only beta has: never served to another lane's visitor (the document names the lane). */
const BETA_HTML = ['beta-only.html', 'page.htm', 'assets/embed.html', 'help/index.html'];

let dir: string;
let root: string;
let gw: Running;
const put = (rel: string, body: string): void => {
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
};
const body = (lane: string, rel: string): string => `/* ${lane}:${rel} */`;

async function gateway(extra: Partial<AssetLanesOptions> = {}, config: unknown = CONFIG) {
  const app = express();
  app.use(graylaneExpress({ config: config as typeof CONFIG, sticky: { httpOnly: false } }));
  app.use(createAssetLanes({ root, fallback: 'stable', ...extra }));
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('fell through');
  });
  return listen(http.createServer(app));
}

/**
 * A file another lane's build has, missing from the visitor's: the gateway's own 404, which no
 * shared cache stores (AST-27, review 173 D1), never handed to the app's 404.
 */
function expectLaneMiss(r: RawResponse, what: string): void {
  expect([what, r.status, r.body]).toEqual([what, 404, 'Not Found']);
  expect([what, r.headers['cache-control'], r.headers['vary']]).toEqual([
    what,
    'private, no-store',
    'Cookie, X-Gray-Id',
  ]);
}

/** Runs `fn` for every visitor at once (the rows are independent requests). */
const each = async (visitors: readonly string[], fn: (visitor: string) => Promise<void>) => {
  await Promise.all(visitors.map(fn));
};

const ask = (port: number, rel: string, visitor: string, row: number): Promise<RawResponse> => {
  const { headers, query } = CARRIERS[row % CARRIERS.length]!(visitor);
  return rawRequest(port, `/${rel}${query}`, headers);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-cross-lane-'));
  root = join(dir, 'web');
  put('secret.txt', 'TOP-SECRET');
  for (const lane of BUILT) put(`web/${lane}/index.html`, `<html><head></head>${lane}</html>`);
  for (const lane of ['stable', 'beta'] as const)
    for (const name of VITE[lane]) put(`web/${lane}/assets/${name}`, body(lane, `assets/${name}`));
  for (const name of VITE.other) put(`web/beta/assets/${name}`, body('beta', `assets/${name}`));
  for (const rel of ORDINARY) put(`web/beta/${rel}`, body('beta', rel));
  for (const rel of BETA_HTML) put(`web/beta/${rel}`, '<html><head></head>beta html</html>');
  put('web/canary/assets/only-Bx_Yz-Qw.js', body('canary', 'assets/only-Bx_Yz-Qw.js'));
  put('web/canary/assets/main-CANA4Y22.js', body('canary', 'assets/main-CANA4Y22.js'));
  // Label-shaped folders that are no version of the config: never lanes.
  put('web/nightly/assets/nightly-Bq3x_Y1z.js', 'NOT-A-LANE');
  put('web/nightly/nightly.js', 'NOT-A-LANE');
  put('web/releases/assets/old-BwXy-Zq1.js', 'NOT-A-LANE');
  put('web/private/keys.json', 'NOT-A-LANE');
  put('web/delta/assets/delta-Cq9_x-Ab.js', body('delta', 'assets/delta-Cq9_x-Ab.js'));
  // Traps in beta: dotfiles, and symlinks out of beta (to a secret, into stable).
  put('web/beta/.env', 'TOP-SECRET');
  put('web/beta/assets/.cache.js', 'TOP-SECRET');
  put('web/beta/.well-known/security.txt', 'TOP-SECRET');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'beta/assets/leak-Bx12-45y.js'));
  symlinkSync(join(dir, 'secret.txt'), join(root, 'beta/leak.txt'));
  put('web/stable/robots.txt', 'stable robots');
  symlinkSync(join(root, 'stable/robots.txt'), join(root, 'beta/into-stable.txt'));
  // In two lanes: each visitor gets its own lane's copy.
  for (const lane of ['stable', 'beta']) {
    put(`web/${lane}/assets/both-BqX_-z1Y.js`, body(lane, 'both'));
    put(`web/${lane}/sw-both.js`, body(lane, 'sw-both.js'));
  }
  gw = await gateway();
});
afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The caching a file gets: by its name only, whichever lane it came from. */
function expectPolicy(r: RawResponse, owner: string, immutable: boolean): void {
  if (immutable) {
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['vary']).toBeUndefined();
    expect(r.headers['etag']).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
  } else {
    expect(r.headers['cache-control']).toBe('private, no-cache');
    expect(r.headers['vary']).toBe('Cookie, X-Gray-Id');
    // The ETag names the lane the bytes came from: a switch back never revalidates to them.
    expect(r.headers['etag']?.startsWith(`W/"${owner}-`)).toBe(true);
  }
}

/** The documented Vite setup: every file under `assets/` is content-addressed. */
const VITE_IMMUTABLE: Partial<AssetLanesOptions> = { immutable: (p) => p.startsWith('assets/') };

const viteRows = [
  ...VITE.stable.map((n) => ['stable', `assets/${n}`] as const),
  ...VITE.beta.map((n) => ['beta', `assets/${n}`] as const),
  ...VITE.other.map((n) => ['beta', `assets/${n}`] as const),
];

describe('AST-12 a file missing from the visitor lane is found in the lane that has it', () => {
  it('the fixture is a Vite build: HASHED_NAME misses some of its names, the lanes share none', () => {
    const missed = viteRows.filter(([, rel]) => !HASHED_NAME.test(rel));
    expect(missed.length).toBeGreaterThan(10);
    expect(VITE.stable.filter((n) => VITE.beta.includes(n))).toEqual([]);
  });

  it.each(viteRows.map(([owner, rel], i) => [rel, owner, i] as const))(
    'Vite %s (only in %s), default immutable: crosses exactly when HASHED_NAME recognises it',
    async (rel, owner, i) => {
      const hashed = HASHED_NAME.test(rel);
      await each(
        VISITORS.filter((v) => v !== owner),
        async (visitor) => {
          const r = await ask(gw.port, rel, visitor, i);
          // gamma has no build: its visitors are on stable's, where a stable file is their own.
          if (visitor === 'gamma' && owner === 'stable') {
            expect([visitor, r.status, r.body]).toEqual([visitor, 200, body(owner, rel)]);
            return;
          }
          if (hashed) {
            expect([visitor, r.status, r.body]).toEqual([visitor, 200, body(owner, rel)]);
            expectPolicy(r, owner, true);
          } else {
            expectLaneMiss(r, visitor);
          }
        },
      );
    },
  );

  it.each(ORDINARY.map((rel, i) => [rel, i] as const))(
    'an unhashed name %s (only in beta): beta visitors only, never immutable',
    async (rel, i) => {
      expect(HASHED_NAME.test(rel)).toBe(false);
      await each(
        VISITORS.filter((v) => v !== 'beta'),
        async (visitor) => {
          const r = await ask(gw.port, rel, visitor, i);
          expectLaneMiss(r, visitor);
        },
      );
      const own = await ask(gw.port, rel, 'beta', i);
      expect([own.status, own.body]).toEqual([200, body('beta', rel)]);
      expectPolicy(own, 'beta', false);
    },
  );

  it.each([
    ['assets/main-CANA4Y22.js', {}, 0],
    ['assets/only-Bx_Yz-Qw.js', VITE_IMMUTABLE, 1],
  ] as const)(
    'a content-addressed file only a non-fallback lane has (%s, canary) reaches stable, beta and gamma visitors',
    async (rel, extra, i) => {
      const s = await gateway(extra);
      await each(['stable', 'beta', 'gamma'], async (visitor) => {
        const r = await ask(s.port, rel, visitor, i);
        expect([visitor, r.body]).toEqual([visitor, body('canary', rel)]);
      });
      await s.close();
    },
  );

  it('the own lane wins: a name in both lanes is the visitor lane file', async () => {
    const s = await gateway(VITE_IMMUTABLE);
    for (const [i, visitor] of VISITORS.entries()) {
      // gamma is on stable's build. The two copies differ (review 137): per lane, and canary,
      // which has none, gets neither (which lane's would it be?).
      const own = visitor === 'beta' ? 'beta' : 'stable';
      const js = await ask(s.port, 'assets/both-BqX_-z1Y.js', visitor, i);
      if (visitor === 'canary') expect([visitor, js.status]).toEqual([visitor, 404]);
      else expect([visitor, js.body]).toEqual([visitor, body(own, 'both')]);
      // Unhashed: the own lane's only (canary has no copy: a 404, never stable's).
      const sw = await ask(s.port, 'sw-both.js', visitor, i + 1);
      if (visitor === 'canary') expect([visitor, sw.status]).toEqual([visitor, 404]);
      else expect([visitor, sw.body]).toEqual([visitor, body(own, 'sw-both.js')]);
    }
    await s.close();
  });
});

describe('what never crosses lanes', () => {
  it.each(BETA_HTML.map((rel, i) => [rel, i] as const))(
    'HTML %s (only in beta) is not served to another lane',
    async (rel, i) => {
      const target = rel.endsWith('/index.html') ? rel.slice(0, -'index.html'.length) : rel;
      await each(['stable', 'canary', 'gamma'], async (visitor) => {
        const r = await ask(gw.port, target, visitor, i);
        expectLaneMiss(r, visitor);
      });
      expect((await ask(gw.port, target, 'beta', i)).body).toContain('beta html');
    },
  );

  it.each(
    [
      'assets/nightly-Bq3x_Y1z.js',
      'nightly.js',
      'assets/old-BwXy-Zq1.js',
      'keys.json',
      'assets/delta-Cq9_x-Ab.js',
      'nightly/nightly.js',
      'private/keys.json',
    ].map((rel, i) => [rel, i] as const),
  )('%s from a folder that is no version of the config: no lane gets it', async (rel, i) => {
    await each(VISITORS, async (visitor) => {
      const r = await ask(gw.port, rel, visitor, i);
      expect([visitor, r.status]).toEqual([visitor, 404]);
      expect(r.body).not.toContain('NOT-A-LANE');
    });
  });

  it.each(
    [
      ['.env', 404],
      ['assets/.cache.js', 404],
      ['.well-known/security.txt', 404],
      ['assets/leak-Bx12-45y.js', 404],
      ['leak.txt', 404],
      ['into-stable.txt', 404],
    ].map(([rel, status], i) => [rel, status, i] as const),
  )('a refusal in the other lane holds: %s', async (rel, status, i) => {
    await each(['stable', 'canary', 'gamma'], async (visitor) => {
      const r = await ask(gw.port, rel as string, visitor, i);
      expect([visitor, r.status]).toEqual([visitor, status]);
      expect(r.body).not.toContain('TOP-SECRET');
      expect(r.body).not.toContain('stable robots');
    });
  });
});

describe('the other lanes are the config in force, from the first request', () => {
  // Each row is a fresh handler whose first request is the cross-lane one: the lanes must not
  // depend on what the process served before.
  // With the Vite `immutable`: every chunk under assets/ crosses; unhashed top files never do.
  const rows: [string, string, string, string, number][] = [
    ['beta chunk, stable visitor (header)', `assets/${VITE.beta[0]}`, 'beta', 'stable', 200],
    ['beta chunk, stable visitor (cookie)', `assets/${VITE.beta[1]}`, 'beta', 'stable', 200],
    ['beta chunk, gamma visitor (query)', `assets/${VITE.beta[2]}`, 'beta', 'gamma', 200],
    ['beta hashed name, stable visitor', `assets/${VITE.beta[40]}`, 'beta', 'stable', 200],
    ['canary chunk, beta visitor', 'assets/only-Bx_Yz-Qw.js', 'canary', 'beta', 200],
    ['canary hashed, stable visitor', 'assets/main-CANA4Y22.js', 'canary', 'stable', 200],
    ['canary chunk, stable visitor', 'assets/only-Bx_Yz-Qw.js', 'canary', 'stable', 200],
    ['beta sw.js, stable visitor', 'sw.js', 'beta', 'stable', 404],
    ['beta config.json, canary visitor', 'config.json', 'beta', 'canary', 404],
    ['beta flags.json, stable visitor', 'flags.json', 'beta', 'stable', 404],
  ];
  const expectRow = (r: RawResponse, owner: string, rel: string, status: number): void =>
    expect([r.status, r.body]).toEqual([
      status,
      status === 200 ? body(owner, rel) : expect.anything(),
    ]);
  it.each(rows.map((r, i) => [...r, i] as const))(
    'express: %s',
    async (_name, rel, owner, visitor, status, i) => {
      const fresh = await gateway(VITE_IMMUTABLE);
      const r = await ask(fresh.port, rel, visitor, i);
      expectRow(r, owner, rel, status);
      await fresh.close();
    },
  );

  it.each(rows.map((r, i) => [...r, i] as const))(
    'node:http createGraylane: %s',
    async (_name, rel, owner, visitor, status, i) => {
      const gray = createGraylane({ config: CONFIG });
      const lanes = createAssetLanes({ root, fallback: 'stable', ...VITE_IMMUTABLE });
      const s = await listen(
        http.createServer((req: IncomingMessage, res: ServerResponse) =>
          gray.handle(req, res, () => lanes(req, res)),
        ),
      );
      const r = await ask(s.port, rel, visitor, i);
      expectRow(r, owner, rel, status);
      if (status !== 200) expect(r.body).not.toContain(body(owner, rel));
      await s.close();
    },
  );

  it('a version added by a config reload is a lane at once; a folder is not before', async () => {
    const store = createConfigStore({
      initial: { versions: ['stable', 'beta'], default: 'stable' },
    });
    const s = await gateway(VITE_IMMUTABLE, store);
    const rel = 'assets/delta-Cq9_x-Ab.js';
    for (const [i, visitor] of ['stable', 'beta'].entries())
      expect((await ask(s.port, rel, visitor, i)).status).toBe(404);
    store.update({ versions: ['stable', 'beta', 'delta'], default: 'stable' });
    for (const [i, visitor] of ['stable', 'beta', 'delta'].entries())
      expect((await ask(s.port, rel, visitor, i)).body).toBe(body('delta', rel));
    await s.close();
  });

  it('the lanes option replaces the config versions (the fallback always searched)', async () => {
    const s = await gateway({ lanes: ['beta'], ...VITE_IMMUTABLE });
    expect((await ask(s.port, 'assets/only-Bx_Yz-Qw.js', 'stable', 0)).status).toBe(404);
    const chunk = `assets/${VITE.beta[0]}`;
    expect((await ask(s.port, chunk, 'stable', 1)).body).toBe(body('beta', chunk));
    expect((await ask(s.port, 'sw.js', 'stable', 1)).status).toBe(404);
    // stable and beta hold different bytes under that name: canary gets neither.
    expect((await ask(s.port, 'assets/both-BqX_-z1Y.js', 'canary', 2)).status).toBe(404);
    await s.close();
  });
});

describe('without a graylane middleware: the lanes this handler has served', () => {
  // A router in front decides (custom `version(req)`); no engine of this process declares
  // `main` or `next`, so only the fallback and the versions served are lanes.
  let router: string;
  const HASHED = 'assets/next-KD2M5QX7.js';
  const behindRouter = (extra: Partial<AssetLanesOptions> = {}) => {
    const lanes = createAssetLanes({
      root: router,
      fallback: 'main',
      version: (req) => req.headers['x-lane'] as string | undefined,
      ...extra,
    });
    return listen(http.createServer((req, res) => lanes(req, res)));
  };
  const lane = (port: number, path: string, l?: string) =>
    rawRequest(port, path, l === undefined ? {} : { 'X-Lane': l });
  beforeAll(() => {
    router = join(dir, 'router');
    for (const l of ['main', 'next'])
      put(`router/${l}/index.html`, `<html><head></head>${l}</html>`);
    put(`router/next/${HASHED}`, 'next bundle');
    put('router/next/flags.json', 'NEXT-FLAGS');
    for (let n = 1; n <= 20; n++) {
      const l = `l${String(n).padStart(2, '0')}`;
      put(`router/${l}/index.html`, `<html><head></head>${l}</html>`);
      put(`router/${l}/assets/${l}-a1b2c3d${n % 10}.js`, `${l} bundle`);
    }
  });

  it('a version served once is a lane: its hashed file reaches other visitors', async () => {
    const s = await behindRouter();
    expect((await lane(s.port, `/${HASHED}`, 'main')).status).toBe(404);
    expect((await lane(s.port, '/', 'next')).body).toContain('next');
    const r = await lane(s.port, `/${HASHED}`, 'main');
    expect([r.status, r.body]).toEqual([200, 'next bundle']);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await lane(s.port, `/${HASHED}`)).body).toBe('next bundle');
    // Learning a lane never lets an unhashed file of it cross.
    const flags = await lane(s.port, '/flags.json', 'main');
    expect([flags.status, flags.body]).toEqual([404, 'Not Found']);
    await s.close();
  });

  it('the lanes option is not extended by what is served', async () => {
    const s = await behindRouter({ lanes: [] });
    expect((await lane(s.port, '/', 'next')).status).toBe(200);
    expect((await lane(s.port, `/${HASHED}`, 'main')).status).toBe(404);
    await s.close();
  });

  it('bounded: the first versions served are kept, later ones are not searched', async () => {
    const s = await behindRouter();
    for (let n = 1; n <= 20; n++)
      expect((await lane(s.port, '/', `l${String(n).padStart(2, '0')}`)).status).toBe(200);
    expect((await lane(s.port, '/assets/l01-a1b2c3d1.js', 'main')).body).toBe('l01 bundle');
    expect((await lane(s.port, '/assets/l20-a1b2c3d0.js', 'main')).status).toBe(404);
    await s.close();
  });
});

describe('AST-09 immutable for a Vite build: (p) => p.startsWith("assets/")', () => {
  let vite: Running;
  beforeAll(async () => {
    vite = await gateway({ immutable: (p) => p.startsWith('assets/') });
  });
  it.each(viteRows.map(([owner, rel], i) => [rel, owner, i] as const))(
    '%s (%s): immutable in every lane',
    async (rel, owner, i) => {
      await each(
        ['stable', 'beta'].filter((v) => v !== owner),
        async (visitor) => {
          const r = await ask(vite.port, rel, visitor, i);
          expect(r.body).toBe(body(owner, rel));
          expectPolicy(r, owner, true);
        },
      );
    },
  );
  it.each(ORDINARY.map((rel, i) => [rel, i] as const))(
    '%s: crosses lanes (immutable) exactly when under assets/',
    async (rel, i) => {
      const r = await ask(vite.port, rel, 'stable', i);
      if (rel.startsWith('assets/')) {
        expect(r.body).toBe(body('beta', rel));
        expectPolicy(r, 'beta', true);
      } else {
        expectLaneMiss(r, rel);
      }
    },
  );
});
