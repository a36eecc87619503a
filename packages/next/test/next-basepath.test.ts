import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './support/build.js';
import { startNext } from './support/serve.js';

// Review 65 D1: under `basePath`, Next prefixes the basePath to every matcher entry, and
// `/shop/((?!…).*)` needs a `/` after `/shop` — which Next redirects away (`/shop/` → 308
// `/shop`). The docs' matcher listed only that entry, so the app's home page ran without the
// proxy: no lane, no sticky cookies, a marker ignored, getGrayVersion() failing NO_CONTEXT.
// basepath-app/ is a minimal `basePath: '/shop'` app with the docs' proxy and matcher.

const DOC = readFileSync(new URL('../../../docs/nextjs.md', import.meta.url), 'utf8');
const APP_PROXY = readFileSync(new URL('./basepath-app/proxy.js', import.meta.url), 'utf8');
const SRC_PROXY = readFileSync(new URL('../src/proxy.ts', import.meta.url), 'utf8');

/** The `export const config = …` line of the docs' §2 proxy. */
const docsMatcher = (): string => {
  const block = /```ts\n\/\/ proxy\.ts \(Next 16, Node\.js runtime\)\n([\s\S]*?)```/.exec(DOC)?.[1];
  const line = /^export const config = .*$/m.exec(block ?? '')?.[0];
  if (line === undefined) throw new Error('docs/nextjs.md §2 has no proxy.ts config line');
  return line;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the request carries: the marker (header, cookie, none) — a query marker is in the path. */
const MARKERS = [
  ['header X-Gray-Id: beta', { 'x-gray-id': 'beta' }],
  ['cookie gray=canary', { cookie: 'gray=canary' }],
  ['no marker (a new visitor)', {}],
] as const;

/** Where: the home page (bare, trailing slash), a page, a route handler; `?gray=` marks some. */
const PATHS = [
  '/shop',
  '/shop/',
  '/shop/x',
  '/shop/api/lane',
  '/shop?gray=beta',
  '/shop/x?gray=beta',
];

interface Seen {
  version: string;
  reason: string;
  /** getGrayVersion() on a page (its error code off the lane); the route handler: its version. */
  strict: string;
  /** The cookie names and values the response sets. */
  cookies: Record<string, string>;
  cacheControl: string | null;
}

/**
 * The lane and sticky cookies documented for a request that carries `marker` (docs/nextjs.md
 * §2, web.md; precedence header, cookie, `?gray=`, then the rules): a marker decides and nothing
 * is written (a header or query marker is never stored, a marker cookie is already there); with
 * none, the split decides and both sticky cookies are written, private to shared caches.
 */
function expected(path: string, marker: string): (seen: Seen) => void {
  const query = path.includes('?gray=');
  return (seen) => {
    if (marker === 'header X-Gray-Id: beta') {
      expect(seen).toMatchObject({ version: 'beta', reason: 'header', strict: 'beta' });
    } else if (marker === 'cookie gray=canary') {
      expect(seen).toMatchObject({ version: 'canary', reason: 'cookie', strict: 'canary' });
    } else if (query) {
      expect(seen).toMatchObject({ version: 'beta', reason: 'query', strict: 'beta' });
    } else {
      expect(seen.reason).toBe('weight');
      expect(['stable', 'beta']).toContain(seen.version);
      expect(seen.strict).toBe(seen.version);
      expect(Object.keys(seen.cookies).sort()).toEqual(['gray', 'gray_uid']);
      expect(seen.cookies['gray_uid']).toMatch(UUID);
      expect(seen.cookies['gray']).toBe(seen.version);
      expect(seen.cacheControl).toBe('private, no-store');
      return;
    }
    expect(seen.cookies).toEqual({});
  };
}

describe('Next.js under basePath (/shop): the docs’ matcher covers every route', () => {
  let app: Awaited<ReturnType<typeof startNext>>;

  beforeAll(async () => {
    const built = await buildApp('basepath');
    console.info(`[graylane] next build (basepath): ${built.cached ? 'cached' : `${built.ms} ms`}`);
    app = await startNext(built.dir, {});
  }, 900_000);
  afterAll(async () => {
    await app?.stop();
  });

  const probe = async (path: string, headers: Record<string, string>): Promise<Seen> => {
    const res = await fetch(`${app.origin}${path}`, { headers });
    const body = await res.text();
    expect(res.status, `${path}: ${body.slice(0, 300)}\n${app.output().slice(-2000)}`).toBe(200);
    const cookies = Object.fromEntries(
      res.headers.getSetCookie().map((c) => {
        const pair = c.split(';')[0] ?? '';
        return [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      }),
    );
    const cacheControl = res.headers.get('cache-control');
    if (body.startsWith('{')) {
      const json = JSON.parse(body) as { version: string | null; reason: string | null };
      return {
        version: json.version ?? 'none',
        reason: json.reason ?? 'none',
        strict: json.version ?? 'NO_CONTEXT',
        cookies,
        cacheControl,
      };
    }
    const lane = /<p id="lane">([^<]*)<\/p>/.exec(body)?.[1];
    if (lane === undefined) throw new Error(`${path}: no lane in ${body.slice(0, 300)}`);
    const [version = '', reason = '', strict = ''] = lane.split(' ');
    return { version, reason, strict, cookies, cacheControl };
  };

  it('the app runs the docs’ proxy matcher, and proxy.ts’s JSDoc shows the same one', () => {
    const line = docsMatcher();
    expect(line).toContain("'/', ");
    expect(APP_PROXY).toContain(line);
    expect(SRC_PROXY).toContain(` * ${line}`);
  });

  it.each(PATHS.flatMap((path) => MARKERS.map(([marker, headers]) => ({ path, marker, headers }))))(
    'MISC-04 basePath $path with $marker: lane and sticky cookies as documented',
    async ({ path, marker, headers }) => {
      expected(path, marker)(await probe(path, { ...headers }));
    },
  );

  it('MISC-04 basePath `/shop/` is redirected to `/shop` before the proxy runs (why `/` is listed)', async () => {
    const res = await fetch(`${app.origin}/shop/`, { redirect: 'manual' });
    await res.body?.cancel();
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/shop');
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('MISC-04 basePath a second visit keeps the lane of the first at /shop (sticky, reason=cookie)', async () => {
    const first = await probe('/shop', {});
    const jar = Object.entries(first.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    for (const path of ['/shop', '/shop/x', '/shop/api/lane']) {
      const again = await probe(path, { cookie: jar });
      expect(again).toMatchObject({ version: first.version, reason: 'cookie', cookies: {} });
    }
  });
});
