import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_CONFIG_BYTES, type RuleSource } from '@graylane/core';
import { createManualClock, type ManualClock } from '../../../../tools/manual-clock.js';
import {
  createFileSource,
  createHttpSource,
  startSources,
  type MeterLike,
} from '../../src/sources/index.js';
import { RELOAD_RESULTS } from '../../src/sources/metrics.js';
import { doc, recordingStore, tempDir, waitFor, type Cleanups } from './helpers.js';

// FLT-02 FLT-04 SRC-05: a load attempt that offers the store no document — connection refused,
// an HTTP error status, a timeout, a 304 that proves nothing, a missing or unreadable file, a
// document refused before it is parsed — counts in graylane.config.reloads as result="failed"
// (it counted nowhere: only the store's answers were counted). A document the store rejects stays
// `rejected` and is not counted twice. Each source's `failed` series exists at 0 from the start
// like the others. Real HTTP servers and files, a real MeterProvider and the real
// @opentelemetry/exporter-prometheus, scraped.

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

async function serve(handler: Handler): Promise<string> {
  let hits = 0;
  const server: Server = createServer((req, res) => handler(req, res, ++hits));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/rules`;
}

/** A real Prometheus exporter: the source's reload series by result, as scraped. */
async function prometheus(): Promise<{
  meter: MeterLike;
  reloads: (source: string) => Promise<Record<string, number>>;
}> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const url = await serve((req, res) => exporter.getMetricsRequestHandler(req, res));
  cleanups.push(() => provider.shutdown());
  return {
    meter: provider.getMeter('reload-failed') as unknown as MeterLike,
    reloads: async (source) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^graylane_config_reloads_total\{([^}]*)\} (\S+)/gm)) {
        const labels = m[1] as string;
        if (!labels.includes(`source="${source}"`)) continue;
        const result = /result="([^"]+)"/.exec(labels)?.[1] as string;
        out[result] = Number(m[2]);
      }
      return out;
    },
  };
}

/** Polls an async check (a scrape) until it holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The documented results (docs/observability.md), spelled out: not read from the source. */
const RESULTS = ['changed', 'unchanged', 'stale', 'rejected', 'failed'] as const;
type ReloadResult = (typeof RESULTS)[number];

/** Every result at 0 but those given. */
function counts(some: Partial<Record<ReloadResult, number>>): Record<string, number> {
  return Object.fromEntries(RESULTS.map((r) => [r, some[r] ?? 0]));
}

const quiet = { logger: { warn: () => undefined, error: () => undefined } };
/** Polls and back-offs a minute apart, no jitter: a test moves the manual clock to the next. */
const slow = { intervalMs: 60_000, backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } };
const BIG = 'x'.repeat(MAX_CONFIG_BYTES + 1);
const LATIN1 = Buffer.from(
  '{"versions":["stable"],"default":"stable","description":"caf\xe9"}',
  'latin1',
);

interface Row {
  readonly name: string;
  readonly make: (dir: string, clock: ManualClock) => Promise<RuleSource>;
  /** What the first attempt counts. */
  readonly want: Partial<Record<ReloadResult, number>>;
  /** Moves the clock to end a first attempt that waits (a timeout). */
  readonly settle?: (clock: ManualClock) => Promise<void>;
}

const http =
  (handler: Handler, extra: Partial<Parameters<typeof createHttpSource>[0]> = {}): Row['make'] =>
  async (_dir, clock) =>
    createHttpSource({
      name: 'src',
      url: `${await serve(handler)}/rules`,
      clock,
      ...slow,
      ...quiet,
      ...extra,
    });

const HTTP_ROWS: Row[] = [
  {
    name: 'connection refused',
    make: async (_d, clock) =>
      createHttpSource({ name: 'src', url: await closedPort(), clock, ...slow, ...quiet }),
    want: { failed: 1 },
  },
  ...[500, 502, 404, 410, 418].map((code) => ({
    name: `HTTP ${code}`,
    make: http((_q, res) => res.writeHead(code).end('nope')),
    want: { failed: 1 },
  })),
  {
    name: 'HTTP 503 with Retry-After',
    make: http((_q, res) => res.writeHead(503, { 'retry-after': '120' }).end()),
    want: { failed: 1 },
  },
  { name: 'HTTP 429', make: http((_q, res) => res.writeHead(429).end()), want: { failed: 1 } },
  {
    name: 'HTTP 401 (fatal)',
    make: http((_q, res) => res.writeHead(401).end()),
    want: { failed: 1 },
  },
  {
    name: 'HTTP 403 (fatal)',
    make: http((_q, res) => res.writeHead(403).end()),
    want: { failed: 1 },
  },
  {
    name: 'HTTP 304 before any document',
    make: http((_q, res) => res.writeHead(304).end()),
    want: { failed: 1 },
  },
  {
    name: 'a body over the size limit (Content-Length)',
    make: http((_q, res) => res.writeHead(200, { 'content-length': BIG.length }).end(BIG)),
    want: { failed: 1 },
  },
  {
    name: 'a body over the size limit (chunked)',
    make: http((_q, res) => {
      res.writeHead(200);
      res.write(BIG.slice(0, 600_000));
      res.end(BIG.slice(600_000));
    }),
    want: { failed: 1 },
  },
  {
    name: 'a body that is not UTF-8',
    make: http((_q, res) => res.writeHead(200).end(LATIN1)),
    want: { failed: 1 },
  },
  {
    name: 'a redirect loop',
    make: http((_q, res) => res.writeHead(302, { location: '/rules' }).end()),
    want: { failed: 1 },
  },
  {
    name: 'a redirect to ftp:',
    make: http((_q, res) => res.writeHead(302, { location: 'ftp://127.0.0.1/rules' }).end()),
    want: { failed: 1 },
  },
  {
    name: 'the connection dropped mid-body',
    make: http((_q, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('{"versions":');
      setImmediate(() => res.destroy());
    }),
    want: { failed: 1 },
  },
  {
    name: 'no answer within timeoutMs',
    make: http(() => undefined, { timeoutMs: 5_000 }),
    settle: (clock) => clock.advance(5_000),
    want: { failed: 1 },
  },
  {
    name: 'a URL that can never work (ftp:)',
    make: async (_d, clock) =>
      createHttpSource({ name: 'src', url: 'ftp://127.0.0.1/rules', clock, ...slow, ...quiet }),
    want: { failed: 1 },
  },
  {
    name: '(no double count) a document the store rejects: an HTML login page',
    make: http((_q, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
    ),
    want: { rejected: 1 },
  },
  {
    name: '(no double count) a document the store rejects: an undeclared default',
    make: http((_q, res) => res.writeHead(200).end('{"versions":["stable"],"default":"oops"}')),
    want: { rejected: 1 },
  },
  {
    name: '(no double count) a valid document',
    make: http((_q, res) => res.writeHead(200).end(doc('beta'))),
    want: { changed: 1 },
  },
];

const file =
  (write: (path: string) => void): Row['make'] =>
  async (dir) => {
    const path = join(dir, 'rules.json');
    write(path);
    return createFileSource({ name: 'src', path, ...quiet });
  };

const FILE_ROWS: Row[] = [
  { name: 'file missing', make: file(() => undefined), want: { failed: 1 } },
  {
    name: 'file missing, its directory too',
    make: async (dir) =>
      createFileSource({ name: 'src', path: join(dir, 'no', 'rules.json'), ...quiet }),
    want: { failed: 1 },
  },
  { name: 'a directory at the path', make: file((p) => mkdirSync(p)), want: { failed: 1 } },
  {
    name: 'a FIFO at the path',
    make: file((p) => execFileSync('mkfifo', [p])),
    want: { failed: 1 },
  },
  {
    name: 'a file over the size limit',
    make: file((p) => writeFileSync(p, BIG)),
    want: { failed: 1 },
  },
  {
    name: 'a file that is not UTF-8',
    make: file((p) => writeFileSync(p, LATIN1)),
    want: { failed: 1 },
  },
  {
    name: '(no double count) a file the store rejects: truncated JSON',
    make: file((p) => writeFileSync(p, doc('beta').slice(0, 20))),
    want: { rejected: 1 },
  },
  {
    name: '(no double count) a file the store rejects: empty',
    make: file((p) => writeFileSync(p, '')),
    want: { rejected: 1 },
  },
  {
    name: '(no double count) a valid file',
    make: file((p) => writeFileSync(p, doc('beta'))),
    want: { changed: 1 },
  },
];

describe('FLT-02 SRC-05 a failed load attempt counts as reloads{result="failed"}', () => {
  for (const row of [...HTTP_ROWS, ...FILE_ROWS])
    it(`${row.name}: ${JSON.stringify(row.want)}, every other result at 0`, async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const { meter, reloads } = await prometheus();
      const clock = createManualClock();
      const source = await row.make(dir, clock);
      const handle = startSources(recordingStore().store, [source], { meter, clock, ...quiet });
      cleanups.push(() => handle.stop());
      await row.settle?.(clock);
      await waitFor(() => source.status().state !== 'starting', 10_000, 'the first attempt');
      expect(await reloads('src')).toEqual(counts(row.want));
    });
});

describe('FLT-03 FLT-04 every failed attempt counts, and only attempts', () => {
  it('the results the source declares are the documented ones', () => {
    expect([...RELOAD_RESULTS]).toEqual([...RESULTS]);
  });

  it('FLT-03 HTTP 500 three times, then the document: failed 3, changed 1', async () => {
    const { meter, reloads } = await prometheus();
    const clock = createManualClock();
    const source = await http(
      (_q, res, hit) => (hit <= 3 ? res.writeHead(500).end() : res.writeHead(200).end(doc('beta'))),
      { intervalMs: 600_000 },
    )('', clock);
    const handle = startSources(recordingStore().store, [source], { meter, clock, ...quiet });
    cleanups.push(() => handle.stop());
    await handle.ready;
    for (let failed = 1; failed <= 3; failed++) {
      await until(async () => (await reloads('src'))['failed'] === failed, `failure ${failed}`);
      // Past the longest retry delay (60 s, jittered up only at the cap).
      await clock.advance(80_000);
    }
    await waitFor(() => source.status().state === 'ready', 5_000, 'the document');
    expect(await reloads('src')).toEqual(counts({ failed: 3, changed: 1 }));
  });

  it('FLT-02 a document, then the server goes away: changed 1, then failed per poll', async () => {
    const { meter, reloads } = await prometheus();
    const clock = createManualClock();
    let down = false;
    const source = await http((_q, res) =>
      down ? res.destroy() : res.writeHead(200).end(doc('beta')),
    )('', clock);
    const handle = startSources(recordingStore().store, [source], { meter, clock, ...quiet });
    cleanups.push(() => handle.stop());
    expect((await handle.ready).state).toBe('ready');
    down = true;
    await clock.advance(60_000);
    await waitFor(() => source.status().state === 'stale', 5_000, 'the first failure');
    await clock.advance(80_000);
    await until(async () => (await reloads('src'))['failed'] === 2, 'the second failure');
    expect(await reloads('src')).toEqual(counts({ changed: 1, failed: 2 }));
  });

  it('FLT-04 HTTP 401 is fatal: one failed attempt, none after', async () => {
    const { meter, reloads } = await prometheus();
    const clock = createManualClock();
    const source = await http((_q, res) => res.writeHead(401).end())('', clock);
    const handle = startSources(recordingStore().store, [source], { meter, clock, ...quiet });
    cleanups.push(() => handle.stop());
    await handle.ready;
    await clock.advance(600_000);
    expect(source.status()).toMatchObject({ state: 'error', fatal: true });
    expect(await reloads('src')).toEqual(counts({ failed: 1 }));
  });

  it('SRC-05 a file loaded, then removed, then back: changed 1, failed 1, changed 2', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const { meter, reloads } = await prometheus();
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('beta'));
    const source = createFileSource({ name: 'src', path, ...quiet });
    const handle = startSources(recordingStore().store, [source], { meter, ...quiet });
    cleanups.push(() => handle.stop());
    expect((await handle.ready).state).toBe('ready');
    rmSync(path);
    await waitFor(() => source.status().state === 'stale', 10_000, 'the removal');
    expect(await reloads('src')).toEqual(counts({ changed: 1, failed: 1 }));
    writeFileSync(path, doc('stable'));
    await waitFor(() => source.status().state === 'ready', 10_000, 'the file back');
    expect(await reloads('src')).toEqual(counts({ changed: 2, failed: 1 }));
  });

  it('a stopped source counts nothing more', async () => {
    const { meter, reloads } = await prometheus();
    const clock = createManualClock();
    const source = await http((_q, res) => res.writeHead(500).end())('', clock);
    const handle = startSources(recordingStore().store, [source], { meter, clock, ...quiet });
    await handle.ready;
    await handle.stop();
    await clock.advance(600_000);
    expect((await reloads('src'))['failed']).toBe(1);
  });
});
