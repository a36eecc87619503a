import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion, grayHandlers, type Graylane } from '../../src/index.js';
import {
  createFileSource,
  createHttpSource,
  startSources,
  type SourcesHandle,
} from '../../src/sources/index.js';
import { createStatusHandler, type StatusHandler } from '../../src/status/index.js';
import { closeAll, listen, type Running } from '../helpers.js';
import { tempDir } from '../sources/helpers.js';
import { CONFIG, TOKEN, rulesDoc, send, validReport, waitFor } from './support.js';

const quiet = { warn: () => undefined, error: () => undefined };

/** An app that decides, then answers per version (beta has no handler here: lane fallback). */
function appHandler(gray: Graylane) {
  const work = grayHandlers<(req: IncomingMessage, res: ServerResponse) => void>(
    {
      stable: (_req, res) => res.end(`stable:${getGrayVersion()}`),
      canary: (_req, res) => res.end(`canary:${getGrayVersion()}`),
    },
    { fallback: 'stable' },
  );
  return (req: IncomingMessage, res: ServerResponse) => gray.handle(req, res, () => work(req, res));
}

/** node:http: the status handler first, the app as `next`. */
async function serve(status: StatusHandler, gray: Graylane): Promise<Running> {
  const app = appHandler(gray);
  return listen(http.createServer((req, res) => status.middleware(req, res, () => app(req, res))));
}

describe('node:http mount: off by default', () => {
  afterEach(closeAll);

  it('without enabled: true every status path reaches the app, even with a token', async () => {
    const gray = createGraylane({ config: CONFIG });
    const status = createStatusHandler({ graylane: gray, token: TOKEN });
    const app = await serve(status, gray);
    for (const path of ['/graylane/status', '/graylane/status/status.json']) {
      const reply = await send(app.url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(reply.body).toBe('stable:stable');
    }
  });

  it('without next, a request that is not for the page gets a plain 404', async () => {
    const gray = createGraylane({ config: CONFIG });
    const status = createStatusHandler({ graylane: gray, enabled: true });
    const app = await listen(http.createServer((req, res) => status.middleware(req, res)));
    expect((await send(`${app.url}/other`)).status).toBe(404);
    expect((await send(`${app.url}/graylane/status`)).status).toBe(200);
  });
});

describe('node:http mount: live report from real traffic, sources and reloads', () => {
  const files = tempDir();
  const rulesPath = join(files.dir, 'rules.json');
  let rules: Running;
  let rulesUp = true;
  const served = rulesDoc([{ id: 'qa', version: 'beta' }]);
  let gray: Graylane;
  let sources: SourcesHandle;
  let status: StatusHandler;
  let app: Running;

  beforeAll(async () => {
    writeFileSync(rulesPath, served);
    rules = await listen(
      http.createServer((_req, res) => {
        if (!rulesUp) return void res.writeHead(503).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(served);
      }),
    );
    gray = createGraylane({ config: CONFIG });
    sources = startSources(
      gray.store,
      [
        createFileSource({ path: rulesPath, name: 'file', logger: quiet, debounceMs: 10 }),
        createHttpSource({
          url: `${rules.url}/rules`,
          name: 'http',
          intervalMs: 200,
          logger: quiet,
          backoff: { initialMs: 100, maxMs: 200 },
        }),
        // Credentials in a URL end up in the source's error message: the page must not show them.
        createHttpSource({
          url: `http://admin:hunter2@127.0.0.1:${rules.port}/rules?access_token=abc123`,
          name: 'leaky',
          logger: quiet,
        }),
      ],
      { meter: false, logger: quiet },
    );
    await sources.ready;
    status = createStatusHandler({ graylane: gray, sources, enabled: true, historyLimit: 5 });
    app = await serve(status, gray);
  });
  afterAll(async () => {
    status.close();
    await sources.stop();
    await rules.close();
    files.cleanup();
  });

  const json = async () => validReport(await send(`${app.url}/graylane/status/status.json`));

  it('decisions by version and reason count the real requests, fallbacks and invalid markers too', async () => {
    const before = await json();
    const count = (r: typeof before, v: string) =>
      r.traffic.byVersion.find((x: { version: string }) => x.version === v)?.count ?? 0;
    const fallbacks = (r: typeof before) =>
      r.fallbacks.find((x: { wanted: string }) => x.wanted === 'beta')?.count ?? 0;
    for (let i = 0; i < 6; i++) await send(`${app.url}/x`, { headers: { 'x-gray-id': 'beta' } });
    for (let i = 0; i < 3; i++) await send(`${app.url}/x`, { headers: { 'x-gray-id': 'canary' } });
    for (let i = 0; i < 2; i++) await send(`${app.url}/x`, { headers: { 'x-gray-id': 'gamma' } });
    expect((await send(`${app.url}/qa`)).body).toBe('stable:beta');
    const after = await json();
    expect(count(after, 'beta') - count(before, 'beta')).toBe(7);
    expect(count(after, 'canary') - count(before, 'canary')).toBe(3);
    expect(count(after, 'stable') - count(before, 'stable')).toBe(2);
    expect(after.traffic.byReason).toEqual(
      expect.arrayContaining([{ reason: 'rule', count: expect.any(Number) }]),
    );
    expect(after.invalidMarkers).toEqual(
      expect.arrayContaining([{ source: 'header', reason: 'unknown', count: 2 }]),
    );
    // beta has no handler here: each beta request fell back to stable (lane fallback).
    expect(fallbacks(after) - fallbacks(before)).toBe(7);
    // The status requests themselves are not decisions: the page is mounted before graylane.
    expect(after.traffic.total - before.traffic.total).toBe(12);
  });

  it('config: hash, version and source of the snapshot in force', async () => {
    const report = await json();
    const snapshot = gray.store.get();
    expect(report.config).toMatchObject({
      hash: snapshot.config.hash,
      version: snapshot.version,
      source: snapshot.source,
      rules: 1,
    });
  });

  it('sources: state and staleness follow a real outage, errors are scrubbed', async () => {
    await waitFor(
      async () =>
        (await json()).sources.items.find((s: { name: string }) => s.name === 'http')?.state ===
        'ready',
      10_000,
      'http ready',
    );
    rulesUp = false;
    await waitFor(
      async () =>
        (await json()).sources.items.find((s: { name: string }) => s.name === 'http')?.state ===
        'stale',
      10_000,
      'http stale',
    );
    const report = await json();
    const byName = new Map(report.sources.items.map((s: { name: string }) => [s.name, s]));
    expect(report.sources.state).toBe('degraded');
    expect(byName.get('file')).toMatchObject({ state: 'ready', stalenessSeconds: 0 });
    expect(byName.get('http')).toMatchObject({
      state: 'stale',
      lastError: expect.stringContaining('503'),
    });
    expect(
      (byName.get('http') as { stalenessSeconds: number }).stalenessSeconds,
    ).toBeGreaterThanOrEqual(0);
    expect(byName.get('leaky')).toMatchObject({ state: 'error', stalenessSeconds: null });
    const all = JSON.stringify(report);
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('abc123');
    const page = await send(`${app.url}/graylane/status`);
    expect(page.body).not.toContain('hunter2');
    expect(page.body).not.toContain('abc123');
  });

  it('recent reloads: a file edit shows its rule-level diff, a broken file its rejection', async () => {
    // Only the file source delivers from here (the HTTP source is down), so no other source
    // undoes the edits.
    rulesUp = false;
    writeFileSync(
      rulesPath,
      rulesDoc([
        { id: 'qa', version: 'canary' },
        { id: 'new-lane', version: 'beta' },
      ]),
    );
    await waitFor(
      async () =>
        (await json()).reloads.some((r: { added?: string[] }) => r.added?.includes('new-lane')),
      10_000,
      'file reload',
    );
    writeFileSync(rulesPath, '{"versions": ["stable"], "default": "nope"}');
    await waitFor(async () => (await json()).reloads[0]?.type === 'rejected', 10_000, 'rejection');
    const report = await json();
    const change = report.reloads.find((r: { added?: string[] }) => r.added?.includes('new-lane'));
    expect(change).toMatchObject({
      type: 'change',
      source: 'file',
      added: ['new-lane'],
      modified: ['qa'],
      removed: [],
    });
    expect(report.reloads[0]).toMatchObject({
      type: 'rejected',
      source: 'file',
      code: 'INVALID_CONFIG',
    });
    expect(report.reloads.length).toBeLessThanOrEqual(5);
    // The last-known-good config stays in force (I5).
    expect(report.config.hash).toBe(change.hash);
  });
});

describe('node:http mount: access', () => {
  afterEach(closeAll);

  it('loopback-only: served to 127.0.0.1 and ::1, refused when proxy headers are present', async () => {
    const gray = createGraylane({ config: CONFIG });
    const status = createStatusHandler({ graylane: gray, enabled: true });
    const server = http.createServer((req, res) => status.middleware(req, res));
    await new Promise<void>((r) => server.listen(0, '::1', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect((await send(`http://[::1]:${port}/graylane/status`)).status).toBe(200);
      for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'via']) {
        const reply = await send(`http://[::1]:${port}/graylane/status/status.json`, {
          headers: { [header]: '203.0.113.7' },
        });
        expect(reply.status, header).toBe(404);
        expect(reply.body).not.toContain('graylane');
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    const v4 = await serve(status, gray);
    expect((await send(`${v4.url}/graylane/status/status.json`)).status).toBe(200);
  });

  it('a same-host reverse proxy (http-proxy-middleware, xfwd) is refused without a token, served with one', async () => {
    const gray = createGraylane({ config: CONFIG });
    const open = await serve(createStatusHandler({ graylane: gray, enabled: true }), gray);
    const locked = await serve(
      createStatusHandler({ graylane: gray, enabled: true, token: TOKEN }),
      gray,
    );
    const proxyTo = async (target: string) => {
      const proxy = express();
      proxy.use(createProxyMiddleware({ target, changeOrigin: true, xfwd: true }));
      return listen(http.createServer(proxy));
    };
    const viaOpen = await proxyTo(open.url);
    const viaLocked = await proxyTo(locked.url);
    expect((await send(`${open.url}/graylane/status`)).status).toBe(200);
    expect((await send(`${viaOpen.url}/graylane/status`)).status).toBe(404);
    expect((await send(`${viaLocked.url}/graylane/status`)).status).toBe(401);
    const ok = await send(`${viaLocked.url}/graylane/status/status.json`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    validReport(ok);
  });

  const tokenCases: [string, number, Record<string, string | string[]>][] = [
    ['right', 200, { authorization: `Bearer ${TOKEN}` }],
    ['right, lower-case scheme', 200, { authorization: `bearer ${TOKEN}` }],
    ['absent', 401, {}],
    ['wrong', 401, { authorization: `Bearer ${TOKEN.slice(0, -1)}A` }],
    ['empty', 401, { authorization: '' }],
    ['Basic', 401, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
    [
      'duplicated, both right (two header lines)',
      401,
      { authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] },
    ],
    ['duplicated, wrong first', 401, { authorization: ['Bearer nope', `Bearer ${TOKEN}`] }],
    ['duplicated, right first', 401, { authorization: [`Bearer ${TOKEN}`, 'Bearer nope'] }],
    ['combined on one line', 401, { authorization: `Bearer ${TOKEN}, Bearer ${TOKEN}` }],
    ['in the query instead', 401, {}],
  ];
  it.each(tokenCases)(
    'token %s → %i over real HTTP, page and JSON',
    async (name, expected, headers) => {
      const gray = createGraylane({ config: CONFIG });
      const app = await serve(
        createStatusHandler({ graylane: gray, enabled: true, token: TOKEN }),
        gray,
      );
      const query = name === 'in the query instead' ? `?token=${TOKEN}&access_token=${TOKEN}` : '';
      for (const path of ['/graylane/status', '/graylane/status/status.json']) {
        const reply = await send(`${app.url}${path}${query}`, { headers });
        expect(reply.status).toBe(expected);
        if (expected === 401) {
          expect(reply.headers['www-authenticate']).toBe('Bearer realm="graylane-status"');
          expect(reply.body).toBe('unauthorized\n');
        }
        expect(reply.body).not.toContain(TOKEN);
      }
    },
  );

  it('HEAD gets the headers and no body; POST gets 405; a query string is ignored', async () => {
    const gray = createGraylane({ config: CONFIG });
    const app = await serve(createStatusHandler({ graylane: gray, enabled: true }), gray);
    const head = await send(`${app.url}/graylane/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-security-policy']).toMatch(
      /script-src 'nonce-[A-Za-z0-9+/=]{24}'/,
    );
    const post = await send(`${app.url}/graylane/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    validReport(await send(`${app.url}/graylane/status/status.json?cache=bust#x`));
  });

  it("a nonce callback puts the app's nonce on the page; a throwing one falls back to a random nonce", async () => {
    const gray = createGraylane({ config: CONFIG });
    const nonces = ['YXBwLW5vbmNlLTAwMDAwMDAx', 'throw'];
    const status = createStatusHandler({
      graylane: gray,
      enabled: true,
      nonce: (_req, res) => {
        const n = nonces.shift();
        if (n === 'throw') throw new Error('no locals');
        res.setHeader('x-app-nonce', String(n));
        return n;
      },
    });
    const app = await serve(status, gray);
    const first = await send(`${app.url}/graylane/status`);
    expect(first.headers['content-security-policy']).toContain(
      "script-src 'nonce-YXBwLW5vbmNlLTAwMDAwMDAx'",
    );
    expect(first.body).toContain('<script nonce="YXBwLW5vbmNlLTAwMDAwMDAx">');
    const second = await send(`${app.url}/graylane/status`);
    expect(second.status).toBe(200);
    expect(second.headers['content-security-policy']).toMatch(/'nonce-[A-Za-z0-9+/=]{24}'/);
  });

  it('a response another handler already started is left alone', async () => {
    const gray = createGraylane({ config: CONFIG });
    const status = createStatusHandler({ graylane: gray, enabled: true });
    const app = await listen(
      http.createServer((req, res) => {
        res.writeHead(299, { 'x-first': '1' });
        status.middleware(req, res);
        res.end('first');
      }),
    );
    const reply = await send(`${app.url}/graylane/status`);
    expect(reply.status).toBe(299);
    expect(reply.body).toBe('first');
  });
});
