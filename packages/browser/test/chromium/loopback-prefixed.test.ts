import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInboundEngine, fromFetchRequest, type InboundEngine } from '@graylane/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type {} from './page-entry.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSdk, chromiumAvailable, launch, PAGE } from './harness.js';

// Review 69 D3 / BC-03 / BC-04 in real Chromium. Chromium treats http://localhost and
// http://127.0.0.1 as secure: an http page there reads the `Secure` cookies an https page (or
// server) of the same host wrote — `__Host-gray`, `__Secure-gray` — and the page, like every
// graylane server, reads those names before its own plain `gray`. A QA choice on the http page
// wrote `gray` only, so the prefixed cookie kept hiding it: `setGrayVersion` answered false and the
// lane was stuck. A page that can read such a cookie can delete it, so the choice now removes
// every name read before its own: it holds on the http page, on a reload, for the server, and on
// the https page of the same host. One http and one TLS server on loopback, for both host names.

const run = chromiumAvailable();
const VERSIONS = ['stable', 'beta', 'canary'];

/** A self-signed certificate for localhost and 127.0.0.1 (Chromium is told to accept it). */
function certificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-lp-'));
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
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
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

/** What the page or the server decided. */
interface Seen {
  readonly version: string;
  readonly reason: string;
}

/** How the https side left a prefixed cookie of the base name `name` with version `v`. */
type Plant =
  | 'https page QA choice'
  | '__Host- from the server'
  | '__Secure- from the server'
  | 'both prefixes';
const PLANTS: readonly Plant[] = [
  'https page QA choice',
  '__Host- from the server',
  '__Secure- from the server',
  'both prefixes',
];

function setCookies(plant: Plant, name: string, v: string): string[] {
  const host = `__Host-${name}=${v}; Path=/; Secure; SameSite=Lax`;
  const secure = `__Secure-${name}=${v}; Path=/; Secure; SameSite=Lax`;
  return plant === '__Host- from the server'
    ? [host]
    : plant === '__Secure- from the server'
      ? [secure]
      : [host, secure];
}

describe.skipIf(!run)(
  'Chromium: a QA choice on http loopback beats the https side’s prefixed cookie (review 69 D3)',
  () => {
    let browser: Browser;
    let sdk: string;
    const servers: Server[] = [];
    const ports = { http: 0, https: 0 };
    let context: BrowserContext;
    /** One page per origin, kept: a navigation to another scheme or host costs a new renderer. */
    const pages = new Map<string, Page>();
    async function pageOf(origin: string): Promise<Page> {
      const page = pages.get(origin) ?? (await context.newPage());
      pages.set(origin, page);
      return page;
    }
    /** core's engine per cookie base name, as every server adapter runs it. */
    const engines = new Map<string, InboundEngine<IncomingMessage>>();

    const handler =
      (scheme: 'http' | 'https'): RequestListener =>
      (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/sdk.js')
          return void res
            .writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=600' })
            .end(sdk);
        if (url.pathname === '/')
          return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        if (url.pathname === '/plant')
          return void res
            .writeHead(200, { 'set-cookie': url.searchParams.getAll('c') })
            .end('planted');
        // A request that carries only the cookie (a navigation, sendBeacon): the server's reading.
        const engine = engines.get(
          url.searchParams.get('name') ?? 'gray',
        ) as InboundEngine<IncomingMessage>;
        const get = (n: string): string | null => {
          const v = req.headers[n.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        };
        const { version, reason } = engine.evaluate(
          fromFetchRequest({
            method: req.method ?? 'GET',
            url: `${scheme}://${req.headers.host ?? 'x'}${req.url ?? '/'}`,
            headers: { get },
          }),
          req,
        ).decision;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ version, reason }));
      };

    beforeAll(async () => {
      [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
      for (const name of ['gray', 'lane'])
        engines.set(
          name,
          createInboundEngine<IncomingMessage>(
            {
              config: { versions: VERSIONS, default: 'stable', rules: [] },
              trust: 'open',
              sticky: false,
              markers: { cookie: name },
            },
            { randomId: () => crypto.randomUUID() },
          ),
        );
      const http = createHttpServer(handler('http'));
      const https = createHttpsServer(certificate(), handler('https'));
      for (const [key, server] of [
        ['http', http],
        ['https', https],
      ] as const) {
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        ports[key] = (server.address() as AddressInfo).port;
      }
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    });

    beforeEach(async () => {
      // One context for every row (its pages share the cookie jar); each row starts with none.
      context ??= await browser.newContext({ ignoreHTTPSErrors: true });
      await context.clearCookies();
    });

    /** A page view on `origin`: initGray, then optionally a QA choice. */
    async function view(
      origin: string,
      name: string,
      choose?: string,
    ): Promise<{ first: Seen; kept?: boolean; after?: Seen; server?: Seen }> {
      const page = await pageOf(origin);
      await page.goto(`${origin}/`);
      return page.evaluate(
        async ([versions, name, choose]) => {
          const c = globalThis.graylane.initGray({
            versions,
            default: 'stable',
            ...(name === 'gray' ? {} : { cookie: { name } }),
          });
          const first = { version: c.getGrayVersion(), reason: c.getGrayReason() };
          if (choose === undefined) return { first };
          const kept = c.setGrayVersion(choose);
          const after = { version: c.getGrayVersion(), reason: c.getGrayReason() };
          // Cookie only: a plain fetch, no header.
          const server = (await (await fetch(`/decide?name=${name}`)).json()) as Seen;
          return { first, kept, after, server };
        },
        [VERSIONS, name, choose] as const,
      );
    }

    // [cookie base name, the https side's version, the http page's choice]
    const CHOICES = [
      ['gray', 'beta', 'stable'],
      ['lane', 'canary', 'beta'],
    ] as const;
    const rows = ['localhost', '127.0.0.1'].flatMap((host) =>
      PLANTS.flatMap((plant) => CHOICES.map((c) => [host, plant, ...c] as const)),
    );

    it.each(rows)(
      'http://%s, %s, cookie %s: %s → a choice of %s holds everywhere',
      async (host, plant, name, from, to) => {
        const https = `https://${host}:${ports.https}`;
        const http = `http://${host}:${ports.http}`;
        if (plant === 'https page QA choice')
          expect((await view(https, name, from)).kept).toBe(true);
        else {
          const query = setCookies(plant, name, from).map((c) => `c=${encodeURIComponent(c)}`);
          await (await pageOf(https)).goto(`${https}/plant?${query.join('&')}`);
        }
        const cookie = (v: string): Seen => ({ version: v, reason: 'cookie' });
        // The http page sees the https side's cookie, and then chooses.
        expect(await view(http, name, to)).toEqual({
          first: cookie(from),
          kept: true,
          after: { version: to, reason: 'manual' },
          server: cookie(to),
        });
        // The next page views, on http and on https, and the server, read the choice.
        expect((await view(http, name)).first).toEqual(cookie(to));
        expect((await view(https, name)).first).toEqual(cookie(to));
        const names = (await context.cookies(http))
          .map((c) => c.name)
          .filter((n) => n.endsWith(name));
        expect(names).toEqual([name]);
      },
    );
  },
);
