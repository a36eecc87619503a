import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { chromiumMissing, launchChromium } from '../../../../tools/chromium.js';

/** Skip locally with a hint; under CI=true a missing browser is a failure. */
export function chromiumAvailable(): boolean {
  const missing = chromiumMissing('[graylane] Chromium tests skipped');
  if (missing !== undefined) console.warn(missing);
  return missing === undefined;
}

/** Launches Chromium with no network beyond loopback. */
export const launch = (): Promise<Browser> => launchChromium();

/**
 * The SDK (from source) and axios as one IIFE for `<script src="/sdk.js">`; `entry` picks the page
 * bundle (`page-entry-js-cookie.ts` adds the js-cookie jar).
 */
export async function bundleSdk(entry = './page-entry.ts'): Promise<string> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]?.text ?? '';
}

/** One recorded request. */
export interface Seen {
  readonly method: string;
  readonly path: string;
  readonly marker: string | undefined;
  readonly cookie: string | undefined;
  readonly acrh: string | undefined;
  readonly ifNoneMatch: string | undefined;
}

/** A loopback server that records every request and answers through `handle`. */
export interface TestServer {
  readonly origin: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** Starts a node:http server on `host` (127.0.0.1 or localhost), port chosen by the OS. */
export async function serve(host: '127.0.0.1' | 'localhost', handle: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      marker: header(req, 'x-gray-id'),
      cookie: header(req, 'cookie'),
      acrh: header(req, 'access-control-request-headers'),
      ifNoneMatch: header(req, 'if-none-match'),
    });
    handle(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The page every test starts from: the SDK and nothing else. */
export const PAGE =
  '<!doctype html><meta charset="utf-8"><title>graylane</title><script src="/sdk.js"></script>';

/**
 * BC-01: the page's cookie is `__Host-gray=beta; Path=/; Secure; SameSite=Lax`, no Domain, with a
 * 30-day lifetime (the SDK's clamp).
 */
export async function expectHostCookieBeta(context: BrowserContext, app: string): Promise<void> {
  const cookie = (await context.cookies(app)).find((c) => c.name === '__Host-gray');
  expect(cookie).toMatchObject({
    value: 'beta',
    domain: new URL(app).hostname,
    path: '/',
    secure: true,
    sameSite: 'Lax',
  });
  const ttl = (cookie?.expires ?? 0) - Date.now() / 1000;
  expect(ttl).toBeGreaterThan(2_592_000 - 120);
  expect(ttl).toBeLessThanOrEqual(2_592_000 + 1);
}

/** What {@link pageSuite} hands a test: the app server, and a fresh context and page. */
export interface PageSuite {
  readonly app: TestServer;
  readonly context: BrowserContext;
  readonly page: Page;
}

/**
 * One Chromium, the SDK bundle at `/sdk.js` and an app server on 127.0.0.1 for a describe block;
 * a fresh context and page (no cookies, no storage) and an empty request log before each test.
 * Registers its own hooks; read the fields inside tests.
 */
export function pageSuite(handle: Handler): PageSuite {
  let browser: Browser | undefined;
  let sdk = '';
  const state = {} as { app: TestServer; context: BrowserContext; page: Page };
  beforeAll(async () => {
    [browser, sdk] = await Promise.all([launch(), bundleSdk()]);
    state.app = await serve('127.0.0.1', (req, res, url) =>
      url.pathname === '/sdk.js'
        ? void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk)
        : handle(req, res, url),
    );
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await state.app?.close();
  });
  beforeEach(async () => {
    await state.context?.close();
    state.context = await (browser as Browser).newContext();
    state.page = await state.context.newPage();
    state.app.seen.length = 0;
  });
  return state;
}
