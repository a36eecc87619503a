import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import http from 'node:http';
import { coverageStats, installCoverage, runWithGray } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, startTarget, type Target } from './harness.js';

/*
 * I8 (review 63 D1): a break whose stack holds no frame of the app's — a client such as got calls
 * `http.request` after its own awaits; node:http on Node < 22.13 gives no stack at all — reads
 * "unknown call site". Such breaks were logged once for the whole process: the first
 * destination's line hid every later one. Now an unknown site is logged once per destination
 * (bounded: allowlisted rows only), a known site still once per site.
 */

const log = memoryLogger();
let targets: Target[];
let uninstall: () => void;
let dir: string;
type Send = (url: string, headers: Record<string, string>) => Promise<string>;
let late: Record<'http' | 'fetch', Send>;

beforeAll(async () => {
  targets = await Promise.all([startTarget(), startTarget(), startTarget()]);
  uninstall = installCoverage({ logger: log.logger });
  // A dependency that makes its call after its own await, as got does: no app frame is left.
  dir = mkdtempSync(join(tmpdir(), 'graylane-site-'));
  const pkg = join(dir, 'node_modules', 'late-client');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, 'index.mjs'),
    [
      "import http from 'node:http';",
      '// The call is made from the client\'s own timer: no frame of the caller is left.',
      'export const viaHttp = (url, headers) => new Promise((resolve, reject) => setTimeout(() => {',
      '  http.get(url, { headers, agent: false }, (res) => {',
      "    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body));",
      "  }).on('error', reject);",
      '}, 1));',
      'export const viaFetch = (url, headers) => new Promise((resolve, reject) => setTimeout(() => {',
      '  fetch(url, { headers }).then((r) => r.text()).then(resolve, reject);',
      '}, 1));',
      '',
    ].join('\n'),
  );
  const mod = (await import(pathToFileURL(join(pkg, 'index.mjs')).href)) as Record<string, Send>;
  late = { http: mod.viaHttp as Send, fetch: mod.viaFetch as Send };
});
afterAll(async () => {
  uninstall();
  await Promise.all(targets.map((t) => t.close()));
  rmSync(dir, { recursive: true, force: true });
});

function forgetLoggedSites(): void {
  const state = (globalThis as Record<symbol, { logged?: Set<string> }>)[
    Symbol.for('@graylane/node.coverage.v1')
  ];
  state?.logged?.clear();
}

/** In lane beta, every target allowlisted. */
const inLane = <T>(fn: () => Promise<T>) =>
  runWithGray('beta', fn, { allowHosts: targets.map((t) => t.host) }) as Promise<T>;

const KINDS = [
  { kind: 'missing', headers: {}, line: 'left without the marker' },
  { kind: 'another lane', headers: { 'x-gray-id': 'stable' }, line: 'marker of lane stable' },
] as const;
const CLIENTS = ['http', 'fetch'] as const;
const ORDERS = [
  { order: 'one after another', parallel: false },
  { order: 'all at once', parallel: true },
] as const;
const ROWS = KINDS.flatMap((k) =>
  CLIENTS.flatMap((client) => ORDERS.map((o) => ({ ...k, client, ...o }))),
);

describe('I8 a break with no app frame is logged once per destination', () => {
  it.each(ROWS)('$kind via a late $client call, $order', async ({ headers, line, client, parallel }) => {
    forgetLoggedSites();
    const before = log.lines.length;
    const send = late[client];
    const calls = [...targets, targets[0]!, targets[1]!].map(
      (t) => () => inLane(() => send(`${t.origin}/x`, { ...headers })),
    );
    if (parallel) await Promise.all(calls.map((c) => c()));
    else for (const c of calls) await c();

    const lines = log.lines.slice(before).filter((l) => l.includes(line));
    // One line for each destination, each naming it; the repeated calls add none.
    expect(lines).toHaveLength(targets.length);
    for (const t of targets) expect(lines.filter((l) => l.includes(t.origin))).toHaveLength(1);
    for (const l of lines) expect(l).toContain('unknown call site');
    for (const t of targets)
      expect(coverageStats().destinations.find((r) => r.destination === t.origin)?.lastMissingSite).toBe(
        'unknown call site',
      );
  });

  it.each(ORDERS)(
    'a known call site is logged once whichever destination, $order (control)',
    async ({ parallel }) => {
      forgetLoggedSites();
      const before = log.lines.length;
      const call = (t: Target) => inLane(() => fetch(`${t.origin}/x`).then((r) => r.text()));
      // Promise.all adds an async frame per element (`Promise.all (index 2)`): not a call site.
      if (parallel) await Promise.all(targets.map(call));
      else for (const t of targets) await call(t);
      const lines = log.lines.slice(before).filter((l) => l.includes('left without the marker'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('unknown-site.test.ts');
      expect(lines[0]).not.toMatch(/index \d|unknown call site/);
    },
  );
});

/**
 * Review 67 D2: an allowlist RegExp matches hosts a request can choose (one per tenant). Breaks
 * with no call site to each of them — on Node 20 a no-lane `http` call has no stack at all — must
 * not use up the log lines: at most MAX_DESTINATIONS (50) of them get a line, the rest share
 * one, and a real break elsewhere is still logged.
 */
describe('I8 lines for breaks with no call site are bounded', () => {
  it('80 request-chosen allowlisted hosts, then a real break at a known site', async () => {
    uninstall();
    const local = memoryLogger();
    uninstall = installCoverage({
      logger: local.logger,
      allowHosts: [/^http:\/\/127\.0\.0\.1:\d+$/],
    });
    // Closed ports: each a distinct allowlisted destination, refused at once.
    const ports = Array.from({ length: 80 }, (_, k) => 1 + k);
    const tenantCall = (port: number) =>
      new Promise<void>((resolve) => {
        // From a timer started outside any lane: no lane bound, no frame of the test's.
        setTimeout(() => {
          http
            .get(`http://127.0.0.1:${port}/`, { agent: false }, (res) => res.resume())
            .on('error', () => resolve())
            .on('close', () => resolve());
        }, 1);
      });
    const server = http.createServer((_req, res) => {
      void Promise.all(ports.map(tenantCall)).then(() => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      const lost = local.lines.filter((l) => l.includes('no lane bound'));
      expect(lost.length).toBeLessThanOrEqual(51);
      // A real break at a known call site afterwards still gets its line.
      await inLane(() => fetch(`${targets[0]!.origin}/x`).then((r) => r.text()));
      const missing = local.lines.filter((l) => l.includes('left without the marker'));
      expect(missing).toHaveLength(1);
      expect(missing[0]).toContain('unknown-site.test.ts');
      expect(coverageStats().suppressedLogs).toBe(0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
