/**
 * Real nginx + real Chromium: Debian's nginx runs examples/nginx/nginx.conf.template around the
 * config `graylane render nginx --assets` generates (included as generated): the page build of
 * the visitor's lane from dist/web/<version>/, and /api/ to orders-stable or orders-beta, both by
 * the X-Gray-Id header or the gray cookie. Chromium (playwright-core, tools/chromium.ts) loads the
 * page and calls the API through withGray(fetch) and axios. For each tour case the page build,
 * its bundle and every API hop are asserted to be on one lane.
 *
 * Missing nginx or Chromium: skipped locally with what to install; a failure under CI=true.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createConfigStore } from '@graylane/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchChromium } from '../../../tools/chromium.js';
import { startServices, type Services } from '../src/stack.js';
import { PACKAGE_ROOT, WEB_ROOT, ensureBuilt, freePort, killGroup } from './helpers.js';

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];
const TEMPLATE = resolve(PACKAGE_ROOT, '../nginx/nginx.conf.template');
const RULES = resolve(PACKAGE_ROOT, 'rules.json');
/** The graylane CLI, as `npx graylane` runs it. */
const CLI = resolve(
  dirname(createRequire(import.meta.url).resolve('@graylane/cli/package.json')),
  'bin/graylane.mjs',
);
const VERSIONS = ['stable', 'beta'] as const;

const nginxBin = NGINX_CANDIDATES.find((p) => existsSync(p));
const missing = [nginxBin ? '' : 'nginx', HAS_CHROMIUM ? '' : 'chromium'].filter(Boolean);
if (missing.length > 0) {
  const msg = `nginx e2e: ${missing.join(' and ')} not found — install with: apt-get install -y ${missing.join(' ')}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (required under CI=true)`);
  console.warn(`${msg}; skipping.`);
}

/** One hop as the services report it. */
interface Hop {
  readonly hop: string;
  readonly instance: string;
  readonly saw: string | null;
  readonly served: string;
}
interface CallResult {
  readonly status: number;
  readonly sent: string;
  readonly hops: readonly Hop[];
}
interface DemoHandle {
  callWithFetch(path?: string): Promise<CallResult>;
  callWithAxios(path?: string): Promise<CallResult>;
  version(): string;
}

/** The hop chain a version must produce behind nginx (inventory: lane fallback to stable). */
function chain(version: 'stable' | 'beta'): string[] {
  return [
    `${version}@orders-${version}:${version}`,
    `${version}@inventory-stable:stable`,
    `${version}@pricing-${version}:${version}`,
  ];
}
const show = (hops: readonly Hop[]): string[] =>
  hops.map((h) => `${h.saw}@${h.instance}:${h.served}`);

describe.skipIf(missing.length > 0)('nginx routes by the gray marker, driven by Chromium', () => {
  const children = new Set<ChildProcess>();
  let services: Services | undefined;
  let browser: Browser | undefined;
  let prefix: string;
  let base: string;

  beforeAll(async () => {
    ensureBuilt();
    const config = createConfigStore({
      initial: { versions: ['stable', 'beta'], default: 'stable' },
    });
    services = await startServices({}, config);
    prefix = mkdtempSync(join(tmpdir(), 'graylane-nginx-'));
    // nginx's workers run as an unprivileged user when the master is root (as in CI): they must
    // be able to read the page, wherever the checkout lives (a 0700 temp dir, say).
    chmodSync(prefix, 0o755);
    // The per-version page builds, as a deploy would put them on the web server.
    const webRoot = join(prefix, 'web');
    for (const v of VERSIONS) cpSync(join(WEB_ROOT, v), join(webRoot, v), { recursive: true });
    chmodTree(webRoot);
    const upstream = (lane: string): string =>
      new URL(services?.lanes.get('orders')?.get(lane)?.url ?? '').host;
    // A free port can be taken by a server in the other vitest worker before nginx binds it:
    // nginx then exits, and the next attempt takes fresh ports.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const pages = `127.0.0.1:${await freePort()}`;
      const generated = join(prefix, 'graylane.conf');
      writeFileSync(
        generated,
        execFileSync(
          process.execPath,
          [
            CLI,
            'render',
            'nginx',
            RULES,
            '--assets',
            webRoot,
            '--upstream',
            `stable=${upstream('stable')}`,
            '--upstream',
            `beta=${upstream('beta')}`,
            '--listen',
            pages,
          ],
          { encoding: 'utf8' },
        ),
      );
      const conf = readFileSync(TEMPLATE, 'utf8')
        .replaceAll('{{PREFIX}}', prefix)
        .replaceAll('{{PORT}}', String(port))
        .replaceAll('{{PAGES}}', pages)
        .replaceAll('{{GRAYLANE_CONF}}', generated)
        .replaceAll('{{WEB_ROOT}}', webRoot)
        .replaceAll('{{ORDERS_STABLE}}', upstream('stable'))
        .replaceAll('{{ORDERS_BETA}}', upstream('beta'));
      expect(conf).not.toContain('{{');
      writeFileSync(join(prefix, 'nginx.conf'), conf);
      const nginx = spawn(
        nginxBin ?? 'nginx',
        ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'],
        { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.add(nginx);
      let nginxErr = '';
      let exited = '';
      nginx.stderr?.on('data', (d: Buffer) => (nginxErr += d.toString()));
      nginx.on(
        'exit',
        (code, signal) => (exited = `nginx exited (code ${code}, signal ${signal})`),
      );
      base = `http://127.0.0.1:${port}`;
      const log = (): string =>
        [exited, nginxErr, readIfExists(join(prefix, 'error.log'))].filter(Boolean).join('\n');
      // Generous: both vitest workers may be busy starting servers and browsers at this moment.
      const up = await waitForHttp(`${base}/index.html`, 15_000, () => exited !== '');
      if (up) break;
      if (exited === '' || attempt === 3)
        throw new Error(`nginx did not come up at ${base}:\n${log()}`);
    }
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    for (const c of children) killGroup(c);
    await services?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  /** Opens the page in a fresh browser context (no cookies), optionally with cookies preset. */
  async function open(
    path: string,
    cookies: Record<string, string> = {},
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await (browser as Browser).newContext();
    const entries = Object.entries(cookies).map(([name, value]) => ({ name, value, url: base }));
    if (entries.length > 0) await context.addCookies(entries);
    const page = await context.newPage();
    await page.goto(`${base}${path}`);
    await page.waitForFunction(() => 'graylaneDemo' in globalThis);
    return { page, context };
  }

  const viaFetch = (page: Page): Promise<CallResult> =>
    page.evaluate(() =>
      (globalThis as unknown as { graylaneDemo: DemoHandle }).graylaneDemo.callWithFetch(),
    );
  const viaAxios = (page: Page): Promise<CallResult> =>
    page.evaluate(() =>
      (globalThis as unknown as { graylaneDemo: DemoHandle }).graylaneDemo.callWithAxios(),
    );
  /** Calls the API with both clients of the page; every hop must be on `lane`. */
  async function expectApiOn(page: Page, lane: 'stable' | 'beta'): Promise<CallResult[]> {
    const results = [await viaFetch(page), await viaAxios(page)];
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(show(r.hops)).toEqual(chain(lane));
    }
    return results;
  }

  it.each(VERSIONS)(
    'a %s visitor (gray cookie): the HTML, the bundle and every API hop on that lane',
    async (lane) => {
      const context = await (browser as Browser).newContext();
      await context.addCookies([{ name: 'gray', value: lane, url: base }]);
      const page = await context.newPage();
      const bundle = page.waitForResponse((r) => /\/main-\w+\.js$/.test(r.url()));
      const doc = await page.goto(`${base}/`);
      expect(await doc?.text()).toContain(`<meta name="graylane-version" content="${lane}">`);
      expect(doc?.headers()['vary']).toBe('Cookie, X-Gray-Id');
      expect(doc?.headers()['cache-control']).toBe('private, no-cache');
      const js = await bundle;
      const file = new URL(js.url()).pathname.slice(1);
      expect(readdirSync(join(WEB_ROOT, lane))).toContain(file);
      const other = VERSIONS.find((v) => v !== lane) ?? 'stable';
      expect(readdirSync(join(WEB_ROOT, other))).not.toContain(file);
      expect(js.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      await page.waitForFunction(() => 'graylaneDemo' in globalThis);
      expect(await page.textContent('#build')).toBe(lane);
      expect(await page.textContent('#version')).toBe(lane);
      await expectApiOn(page, lane);
      await context.close();
    },
  );

  it('unmarked: the page is on stable; fetch and axios reach stable at every hop', async () => {
    const { page, context } = await open('/');
    expect(await page.textContent('#build')).toBe('stable');
    expect(await page.textContent('#version')).toBe('stable');
    await expectApiOn(page, 'stable');
    await context.close();
  });

  it('query-forced: ?gray=beta switches the page; every hop sees beta (inventory falls back)', async () => {
    const { page, context } = await open('/?gray=beta');
    // nginx routes on the header and cookies only: the page-only QA override runs in the build
    // nginx served (stable) and sends beta on every API call.
    expect(await page.textContent('#build')).toBe('stable');
    expect(await page.textContent('#version')).toBe('beta');
    for (const r of await expectApiOn(page, 'beta')) expect(r.sent).toBe('beta');
    await context.close();
  });

  it('header-forced: the QA switch (setGrayVersion) sends X-Gray-Id: beta; the table shows the fallback', async () => {
    const { page, context } = await open('/');
    await page.click('#use-beta');
    expect(await page.textContent('#version')).toBe('beta');
    await page.click('#call-fetch');
    await page.waitForSelector('#hops tr:nth-child(3)');
    const rows = await page.$$eval('#hops tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows[1]).toContain('inventory-stable (lane fallback)');
    expect(show((await viaAxios(page)).hops)).toEqual(chain('beta'));
    // The switch persisted the gray cookie: the next page load is the beta build.
    await page.reload();
    await page.waitForFunction(() => 'graylaneDemo' in globalThis);
    expect(await page.textContent('#build')).toBe('beta');
    expect(await page.textContent('#version')).toBe('beta');
    await page.click('#use-stable');
    expect(show((await viaFetch(page)).hops)).toEqual(chain('stable'));
    await context.close();
  });

  it('cookie-sticky: a gray=beta cookie is read by the SDK, and nginx alone routes a header-less call by it', async () => {
    const { page, context } = await open('/', { gray: 'beta' });
    expect(await page.textContent('#build')).toBe('beta');
    expect(await page.textContent('#version')).toBe('beta');
    expect(show((await viaFetch(page)).hops)).toEqual(chain('beta'));
    const raw = await page.evaluate(async () => {
      const res = await fetch('/api/orders/42'); // plain fetch: no X-Gray-Id, only the cookie
      return { lane: res.headers.get('x-gray-lane'), body: (await res.json()) as { hops: Hop[] } };
    });
    expect(raw.lane).toBe('beta');
    expect(show(raw.body.hops)).toEqual(chain('beta'));
    await context.close();
  });

  it('header beats cookie, and an unknown or upper-case marker is ignored (stable), never rejected', async () => {
    const { page, context } = await open('/', { gray: 'beta' });
    const call = (marker: string): Promise<{ status: number; hops: Hop[] }> =>
      page.evaluate(async (m) => {
        const res = await fetch('/api/orders/42', { headers: { 'X-Gray-Id': m } });
        return { status: res.status, hops: ((await res.json()) as { hops: Hop[] }).hops };
      }, marker);
    expect(show((await call('stable')).hops)).toEqual(chain('stable'));
    // Invalid header → nginx falls through to the cookie (beta), as graylane's precedence does.
    expect(show((await call('gamma')).hops)).toEqual(chain('beta'));
    await context.clearCookies();
    const bad = await call('BETA');
    expect(bad.status).toBe(200);
    expect(show(bad.hops)).toEqual(chain('stable'));
    await context.close();
  });
});

/** True once `url` answers 2xx; false when `gaveUp()` says the server died or time runs out. */
async function waitForHttp(
  url: string,
  timeoutMs: number,
  gaveUp: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() <= deadline && !gaveUp()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** World-readable files and traversable directories, so nginx's unprivileged workers can serve them. */
function chmodTree(path: string): void {
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) chmodTree(join(path, entry));
  } else {
    chmodSync(path, 0o644);
  }
}
