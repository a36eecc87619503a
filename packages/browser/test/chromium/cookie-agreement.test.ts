import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInboundEngine, fromFetchRequest, type InboundEngine } from '@graylane/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../../tools/chromium.js';
import { bundleSdk, chromiumAvailable, PAGE } from './harness.js';

// CK-02 / BR-15 / STK-04 (review 173 D3, D4, D5) in real Chromium against core's inbound engine
// (what every server adapter runs): the page and a request that carries only the cookie (a
// navigation, a plain fetch — what sendBeacon and EventSource get too) read the marker cookie
// alike, on every page view, after `setGrayVersion` and after `clearGrayVersion`. Pages on https://app.example.test, a sibling app
// on https://sib.example.test, one TLS server on 127.0.0.1 for both (every name resolves there).
// And the server's sticky cookies survive Chromium's eviction past 180 cookies as the page's do.

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta', 'canary'];
const CONFIG = { versions: VERSIONS, default: 'stable', rules: [] };

/** A decision as the page or the server reports it. */
interface Seen {
  readonly version: string;
  readonly reason: string;
}

/** A self-signed certificate for both host names (Chromium is told to accept it). */
function certificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-ck-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=app.example.test',
        '-addext',
        'subjectAltName=DNS:app.example.test,DNS:sib.example.test',
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** core's engine on a Node request, as an adapter drives it. */
function decide(engine: InboundEngine<IncomingMessage>, req: IncomingMessage, scheme: string) {
  const get = (name: string): string | null => {
    const v = req.headers[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  const url = `${scheme}://${req.headers.host ?? 'x'}${req.url ?? '/'}`;
  return engine.evaluate(
    fromFetchRequest({ method: req.method ?? 'GET', url, headers: { get } }),
    req,
  );
}

/** Who sets a cookie: the app's host (host-only, or a server behind a proxy) or the sibling. */
type Host = 'app' | 'sib';

/** One cookie: `Set-Cookie` text and the host that answers with it. */
interface Plant {
  readonly host: Host;
  readonly cookie: string;
}

const H = (v: string): Plant => ({ host: 'app', cookie: `__Host-gray=${v}; Path=/; Secure` });
const Sd = (v: string): Plant => ({
  host: 'sib',
  cookie: `__Secure-gray=${v}; Domain=example.test; Path=/; Secure`,
});
const Sh = (v: string): Plant => ({ host: 'app', cookie: `__Secure-gray=${v}; Path=/; Secure` });
const Ph = (v: string): Plant => ({ host: 'app', cookie: `gray=${v}; Path=/` });
const Pd = (v: string): Plant => ({
  host: 'sib',
  cookie: `gray=${v}; Domain=example.test; Path=/`,
});
const Papp = (v: string): Plant => ({ host: 'app', cookie: `gray=${v}; Path=/app` });

interface Row {
  readonly title: string;
  /** `cookie.domain` of the app's page (its own name is then `__Secure-gray` for the domain). */
  readonly domain?: string;
  readonly cookies: readonly Plant[];
  /** What the page and the server read on the first view. */
  readonly first: Seen;
  /** What both read on the view after `clearGrayVersion` (what the page cannot delete). */
  readonly cleared: Seen;
}

const cookie = (version: string): Seen => ({ version, reason: 'cookie' });
const DEFAULT: Seen = { version: 'stable', reason: 'default' };
const INVALID: Seen = { version: 'stable', reason: 'invalid_marker' };

const ROWS: readonly Row[] = [
  // Each name alone.
  {
    title: 'a sibling’s __Secure-gray (Domain=example.test) alone',
    cookies: [Sd('beta')],
    first: cookie('beta'),
    cleared: cookie('beta'),
  },
  {
    title: 'a host-only __Secure-gray (an older deploy) alone',
    cookies: [Sh('beta')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  {
    title: 'the server’s plain gray (behind a TLS proxy) alone',
    cookies: [Ph('beta')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  {
    title: 'a plain gray on /app alone',
    cookies: [Papp('beta')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  // Pairs: the strongest name decides, whatever its value.
  {
    title: 'a sibling’s __Secure-gray beside the server’s plain gray',
    cookies: [Sd('beta'), Ph('stable')],
    first: cookie('beta'),
    cleared: cookie('beta'),
  },
  {
    title: 'a sibling’s __Secure-gray (unknown version) beside a plain gray',
    cookies: [Sd('gamma'), Ph('beta')],
    first: { version: 'stable', reason: 'unknown_version' },
    cleared: { version: 'stable', reason: 'unknown_version' },
  },
  {
    title: 'a sibling’s __Secure-gray (invalid) beside a plain gray',
    cookies: [Sd('BETA'), Ph('beta')],
    first: INVALID,
    cleared: INVALID,
  },
  {
    title: 'a sibling’s empty __Secure-gray beside a plain gray',
    cookies: [Sd(''), Ph('beta')],
    first: DEFAULT,
    cleared: DEFAULT,
  },

  // Conflicting values of one name: ambiguous on both sides, never a fall-through.
  {
    title: '__Secure-gray twice (sibling, host-only) beside a plain gray',
    cookies: [Sd('beta'), Sh('canary'), Ph('canary')],
    first: INVALID,
    cleared: cookie('beta'),
  },
  {
    title: 'plain gray twice (server’s, sibling’s)',
    cookies: [Ph('beta'), Pd('canary')],
    first: INVALID,
    cleared: cookie('canary'),
  },
  // Triples.
  {
    title: '__Host-gray, a sibling’s __Secure-gray and the server’s plain gray',
    cookies: [H('stable'), Sd('beta'), Ph('canary')],
    first: cookie('stable'),
    cleared: cookie('beta'),
  },
  // A page with `cookie.domain` (its own name: __Secure-gray for the domain).
  {
    title: 'cookie.domain: the server’s __Host-gray (httpOnly: false) alone',
    domain: 'example.test',
    cookies: [H('beta')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  {
    title: 'cookie.domain: __Host-gray beside the server’s plain gray',
    domain: 'example.test',
    cookies: [H('beta'), Ph('stable')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  {
    title: 'cookie.domain: the server’s plain gray (behind a TLS proxy) alone',
    domain: 'example.test',
    cookies: [Ph('beta')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
  {
    title: 'cookie.domain: __Host-gray beside a sibling’s plain gray',
    domain: 'example.test',
    cookies: [H('canary'), Pd('beta')],
    first: cookie('canary'),
    cleared: DEFAULT,
  },
  {
    title: 'cookie.domain: all three names',
    domain: 'example.test',
    cookies: [H('beta'), Sd('canary'), Ph('stable')],
    first: cookie('beta'),
    cleared: DEFAULT,
  },
];

describe.skipIf(!run)(
  'Chromium: CK-02/BR-15 the page reads the marker cookie as the server does (review 173 D3, D4)',
  () => {
    let browser: Browser;
    let server: Server;
    let port = 0;
    let context: BrowserContext;
    let page: Page;
    /** The server's decision of every page navigation, in order. */
    const navigations: Seen[] = [];

    beforeAll(async () => {
      const [b, sdk] = await Promise.all([
        // Every name to loopback, still nothing beyond it.
        launchChromium(['--host-resolver-rules=MAP * 127.0.0.1']),
        bundleSdk(),
      ]);
      browser = b;
      const engine = createInboundEngine<IncomingMessage>(
        { config: CONFIG, trust: 'open', sticky: false },
        { randomId: () => crypto.randomUUID() },
      );
      server = createHttpsServer(certificate(), (req, res) => {
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/sdk.js')
          return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
        if (url.pathname === '/plant') {
          const cookies = (url.searchParams.get('c') ?? '').split('\n');
          return void res.writeHead(200, { 'set-cookie': cookies }).end('planted');
        }
        const { version, reason } = decide(engine, req, 'https').decision;
        if (url.pathname === '/app/page') {
          navigations.push({ version, reason });
          return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ version, reason }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    });

    beforeEach(async () => {
      await context?.close();
      navigations.length = 0;
      context = await browser.newContext({ ignoreHTTPSErrors: true });
      page = await context.newPage();
    });

    const origin = (host: Host) => `https://${host}.example.test:${port}`;

    async function plant(cookies: readonly Plant[]): Promise<void> {
      for (const host of ['app', 'sib'] as const) {
        const mine = cookies.filter((c) => c.host === host).map((c) => c.cookie);
        if (mine.length > 0)
          await page.goto(`${origin(host)}/plant?c=${encodeURIComponent(mine.join('\n'))}`);
      }
    }

    /** One page view of the app; `act` runs after initGray. What the page and the server saw. */
    async function view(
      domain: string | undefined,
      act?: 'set' | 'clear',
    ): Promise<{ page: Seen; server: Seen; kept?: boolean; after?: Seen; carried?: Seen }> {
      await page.goto(`${origin('app')}/app/page`);
      const server = navigations.at(-1) as Seen;
      const out = await page.evaluate(
        async ([versions, domain, act]) => {
          const c = globalThis.graylane.initGray({
            versions,
            default: 'stable',
            ...(domain ? { cookie: { domain } } : {}),
          });
          const page = { version: c.getGrayVersion(), reason: c.getGrayReason() };
          if (!act) return { page };
          const kept = act === 'set' ? c.setGrayVersion('canary') : undefined;
          if (act === 'clear') c.clearGrayVersion();
          const after = { version: c.getGrayVersion(), reason: c.getGrayReason() };
          // Cookie only: a plain fetch carries no header.
          const carried = (await (await fetch('/app/echo')).json()) as {
            version: string;
            reason: string;
          };
          return { page, after, carried, ...(kept === undefined ? {} : { kept }) };
        },
        [VERSIONS, domain, act] as const,
      );
      return { ...out, server };
    }

    it.each(ROWS.map((r) => [r.title, r] as const))(
      '%s: read, set, reload, clear, reload',
      async (_t, row) => {
        await plant(row.cookies);
        // Read: the page and the navigation that loaded it.
        const first = await view(row.domain);
        expect(first.page).toEqual(row.first);
        expect(first.server).toEqual(row.first);
        // A second view: whatever the first one repaired, both still agree.
        const again = await view(row.domain);
        expect(again.page).toEqual(again.server);
        // Set: wins over every cookie left behind, for cookie-only requests too.
        const set = await view(row.domain, 'set');
        expect(set.page).toEqual(set.server);
        expect([set.kept, set.after, set.carried]).toEqual([
          true,
          { version: 'canary', reason: 'manual' },
          cookie('canary'),
        ]);
        const reloaded = await view(row.domain);
        expect([reloaded.page, reloaded.server]).toEqual([cookie('canary'), cookie('canary')]);
        // Clear: the page assigns again (the default here); what it could not delete is read by the
        // next view and by the server alike.
        const clear = await view(row.domain, 'clear');
        expect(clear.after).toEqual(DEFAULT);
        expect(clear.carried).toEqual(row.cleared);
        const next = await view(row.domain);
        expect([next.page, next.server]).toEqual([row.cleared, row.cleared]);
      },
    );
  },
);

describe.skipIf(!run)(
  'Chromium: STK-04 the server’s sticky cookies survive eviction as the page’s do (review 173 D5)',
  () => {
    let browser: Browser;
    let server: Server;
    let origin = '';

    beforeAll(async () => {
      const [b, sdk] = await Promise.all([launchChromium(), bundleSdk()]);
      browser = b;
      const engine = createInboundEngine<IncomingMessage>(
        {
          config: {
            versions: VERSIONS,
            default: 'stable',
            rules: [
              {
                id: 'all-beta',
                split: [
                  { version: 'beta', weight: 100 },
                  { version: 'stable', weight: 0 },
                ],
                bucketBy: 'cookie:gray_uid',
              },
            ],
          },
          trust: 'open',
          sticky: { httpOnly: false },
        },
        { randomId: () => crypto.randomUUID() },
      );
      server = createHttpServer({ maxHeaderSize: 1 << 20 }, (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/sdk.js')
          return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
        if (url.pathname === '/bloat') {
          // The app's own cookies, by Set-Cookie.
          const n = Number(url.searchParams.get('n'));
          const cookies = Array.from({ length: n }, (_, i) => `app_s${i}=x; Path=/; Max-Age=600`);
          return void res.writeHead(200, { 'set-cookie': cookies }).end('ok');
        }
        const outcome = decide(engine, req, 'http');
        const { version, reason } = outcome.decision;
        res.writeHead(200, {
          'content-type': url.pathname === '/page' ? 'text/html' : 'application/json',
          'set-cookie': [...outcome.setCookies],
        });
        res.end(url.pathname === '/page' ? PAGE : JSON.stringify({ version, reason }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    });

    const BLOATS = [
      ['200 app cookies by script', 'script', 200],
      ['400 app cookies by script', 'script', 400],
      ['200 app cookies by Set-Cookie', 'server', 200],
    ] as const;

    it.each(BLOATS)(
      '%s: the server-written and the page-written version cookie both survive',
      async (_t, by, n) => {
        for (const who of ['server', 'page'] as const) {
          const context = await browser.newContext();
          try {
            const page = await context.newPage();
            // The server assigns beta by weight and writes `gray` and `gray_uid`; or the page's QA choice.
            await page.goto(`${origin}/page`);
            if (who === 'page')
              expect(
                await page.evaluate(() =>
                  globalThis.graylane
                    .initGray({ versions: ['stable', 'beta', 'canary'], default: 'stable' })
                    .setGrayVersion('canary'),
                ),
              ).toBe(true);
            const want = who === 'page' ? 'canary' : 'beta';
            const before = await context.cookies(origin);
            const uid = before.find((c) => c.name === 'gray_uid')?.value;
            if (by === 'script')
              await page.evaluate((n) => {
                for (let i = 0; i < n; i++) document.cookie = `app_c${i}=x; path=/; max-age=600`;
              }, n);
            else await page.goto(`${origin}/bloat?n=${n}`);
            // Script writes reach the cookie store asynchronously: wait for the last one.
            const last = `app_${by === 'script' ? 'c' : 's'}${n - 1}`;
            let after = await context.cookies(origin);
            for (let i = 0; i < 100 && !after.some((c) => c.name === last); i++) {
              await new Promise((r) => setTimeout(r, 50));
              after = await context.cookies(origin);
            }
            const survived = {
              // Chromium keeps at most 180 cookies a host (it purges to 150).
              evicted: after.some((c) => c.name === last) && after.length <= 180,
              gray: after.find((c) => c.name === 'gray')?.value,
              uid: after.find((c) => c.name === 'gray_uid')?.value === uid,
            };
            expect(survived).toEqual({ evicted: true, gray: want, uid: true });
            // The next view: the page and the server read the same cookie.
            await page.goto(`${origin}/page`);
            const seen = await page.evaluate(async () => {
              const c = globalThis.graylane.initGray({
                versions: ['stable', 'beta', 'canary'],
                default: 'stable',
              });
              const server = await (await fetch('/echo')).json();
              return {
                page: [c.getGrayVersion(), c.getGrayReason()],
                server: [server.version, server.reason],
              };
            });
            expect(seen).toEqual({ page: [want, 'cookie'], server: [want, 'cookie'] });
          } finally {
            await context.close();
          }
        }
      },
    );
  },
);
