import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { scrubText, sourceRuntime } from '@graylane/core';
import { createManualClock } from '../../../../tools/manual-clock.js';
import { OUTBOUND_RESULTS } from '../../src/metrics/state.js';
import {
  createFileSource,
  createHttpSource,
  startSources,
  type MeterLike,
} from '../../src/sources/index.js';
import { RELOAD_RESULTS } from '../../src/sources/metrics.js';
import { doc, quietLogger, recordingStore, tempDir, waitFor, type Cleanups } from './helpers.js';

// Review 108: D1 (a source that never succeeded has a staleness series), D2 (each source's
// reload series exist at 0 before the first rejection), D7 (the docs list every outbound
// result), D8 (a 304 to a request without If-None-Match is a failure; a stop() before the first
// attempt ends logs no "degraded"; a source name is scrubbed in every log line). Real HTTP servers
// on 127.0.0.1, a real MeterProvider and the real @opentelemetry/exporter-prometheus.

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A server on 127.0.0.1 answering with `handler`; `requests` records the If-None-Match sent. */
async function serve(handler: Handler): Promise<{ url: string; requests: (string | null)[] }> {
  const requests: (string | null)[] = [];
  const server: Server = createServer((req, res) => {
    const inm = req.headers['if-none-match'];
    requests.push(typeof inm === 'string' ? inm : null);
    handler(req, res, requests.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A port nothing listens on (a server opened and closed). */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/rules`;
}

/** A real Prometheus exporter, scraped through its own request handler on 127.0.0.1. */
async function prometheus(): Promise<{ meter: MeterLike; scrape: () => Promise<string[]> }> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const { url } = await serve((req, res) => exporter.getMetricsRequestHandler(req, res));
  cleanups.push(() => provider.shutdown());
  return {
    meter: provider.getMeter('review-108') as unknown as MeterLike,
    scrape: async () =>
      (await (await fetch(`${url}/metrics`)).text())
        .split('\n')
        .filter((l) => l.startsWith('graylane_'))
        // This exporter adds the scope (`otel_scope_name="…"`) to every series.
        .map((l) => l.replace(/,?otel_scope_[a-z_]+="[^"]*"/g, '').replace('{}', '')),
  };
}

const slow = { intervalMs: 60_000, backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } };

/** Sources that never succeed, each its own way. */
const quiet = { logger: { warn: () => undefined, error: () => undefined } };
const NEVER: Array<{
  name: string;
  make: (dir: string) => Promise<Parameters<typeof startSources>[1][number]>;
}> = [
  {
    name: 'file missing',
    make: async (dir) =>
      createFileSource({ name: 'src', path: join(dir, 'absent.json'), ...quiet }),
  },
  {
    name: 'file rejected',
    make: async (dir) => {
      writeFileSync(join(dir, 'bad.json'), '{"versions":["stable"],"default":"oops"}');
      return createFileSource({ name: 'src', path: join(dir, 'bad.json'), ...quiet });
    },
  },
  {
    name: 'http connection refused',
    make: async () => createHttpSource({ name: 'src', url: await closedPort(), ...slow, ...quiet }),
  },
  ...[500, 404, 503, 401, 304].map((code) => ({
    name: `http ${code}`,
    make: async () => {
      const { url } = await serve((_q, res) => res.writeHead(code).end());
      return createHttpSource({ name: 'src', url: `${url}/rules`, ...slow, ...quiet });
    },
  })),
  {
    name: 'http 200 with an HTML login page',
    make: async () => {
      const { url } = await serve((_q, res) =>
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'),
      );
      return createHttpSource({ name: 'src', url: `${url}/rules`, ...slow, ...quiet });
    },
  },
];

describe('D1: a source that never succeeded is stale from the start', () => {
  for (const c of NEVER)
    it(`${c.name}: graylane_config_staleness is exported from the first scrape and passes 300 s`, async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const { meter, scrape } = await prometheus();
      const clock = createManualClock();
      const source = await c.make(dir);
      const logger = quietLogger();
      const handle = startSources(recordingStore().store, [source], { meter, clock, logger });
      cleanups.push(() => handle.stop());
      const status = await handle.ready;
      expect(status.sources[0]?.status.lastSuccess).toBeUndefined();
      expect(status.state).toBe('degraded');
      expect(await scrape()).toContain('graylane_config_staleness{source="src"} 0');
      await clock.advance(301_000);
      expect(await scrape()).toContain('graylane_config_staleness{source="src"} 301');
      await handle.stop();
      // A deliberate stop reads 0 (the SDK keeps a removed gauge's last value): no alert.
      expect(await scrape()).toContain('graylane_config_staleness{source="src"} 0');
      await clock.advance(600_000);
      expect((await scrape()).filter((l) => /staleness\S* [1-9]/.test(l))).toEqual([]);
    });
});

describe('D2: every reload result of every source is exported at 0 before the first one', () => {
  const SHAPES = [
    { name: 'one file source', names: ['file'] },
    { name: 'two sources', names: ['file', 'rules-b'] },
    { name: 'a name with a token', names: ['http://cfg.internal/rules?token=SECRET123'] },
  ];
  for (const shape of SHAPES)
    it(`${shape.name}: the first scrape has ${RELOAD_RESULTS.length} series per source, the rejected one at 0, then 1`, async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const { meter, scrape } = await prometheus();
      const paths = shape.names.map((_, i) => join(dir, `r${i}.json`));
      for (const p of paths) writeFileSync(p, doc('beta'));
      const sources = shape.names.map((name, i) =>
        createFileSource({ name, path: paths[i] as string, logger: quietLogger() }),
      );
      const handle = startSources(recordingStore().store, sources, { meter });
      cleanups.push(() => handle.stop());
      expect((await handle.ready).state).toBe('ready');
      const first = await scrape();
      for (const name of shape.names) {
        const label = scrubText(name);
        const rows = first.filter((l) => l.includes(`source="${label}"`) && l.includes('reloads'));
        expect(rows.length).toBe(RELOAD_RESULTS.length);
        expect(rows).toContain(
          `graylane_config_reloads_total{source="${label}",result="rejected"} 0`,
        );
      }
      expect(first.join('\n')).not.toContain('SECRET123');
      writeFileSync(paths[0] as string, '{"versions":["stable"],"default":"oops"}');
      await waitFor(() => sources[0]?.status().state === 'stale', 5_000, 'the bad push read');
      const label0 = scrubText(shape.names[0]);
      expect(await scrape()).toContain(
        `graylane_config_reloads_total{source="${label0}",result="rejected"} 1`,
      );
    });
});

describe('D8a: a 304 confirms only the ETag this source sent', () => {
  const ROWS: Array<{
    name: string;
    /** Answers after the first (a 200 with `first` headers). */
    then: Handler;
    first: Record<string, string>;
    want: 'ready' | 'stale';
    control?: boolean;
  }> = [
    {
      name: 'no ETag, then 304 to every poll',
      first: {},
      then: (_q, res) => res.writeHead(304).end(),
      want: 'stale',
    },
    {
      name: 'no ETag, then a 301 to a 304',
      first: {},
      then: (req, res) =>
        req.url === '/final'
          ? res.writeHead(304).end()
          : res.writeHead(301, { location: '/final' }).end(),
      want: 'stale',
    },
    {
      name: 'an empty ETag header, then 304',
      first: { etag: '' },
      then: (_q, res) => res.writeHead(304).end(),
      want: 'stale',
    },
    {
      name: 'ETag, then a 200 without one, then 304',
      first: { etag: '"a"' },
      then: (_q, res, hit) =>
        hit === 2 ? res.writeHead(200).end(doc('beta')) : res.writeHead(304).end(),
      want: 'stale',
    },
    {
      name: 'ETag, then 304 when If-None-Match matches',
      first: { etag: '"a"' },
      then: (req, res) =>
        req.headers['if-none-match'] === '"a"'
          ? res.writeHead(304).end()
          : res.writeHead(200, { etag: '"a"' }).end(doc('beta')),
      want: 'ready',
      control: true,
    },
    {
      name: 'weak ETag, then 304 to every poll',
      first: { etag: 'W/"a"' },
      then: (_q, res) => res.writeHead(304).end(),
      want: 'ready',
      control: true,
    },
    {
      name: 'no ETag, then the same 200 again',
      first: {},
      then: (_q, res) => res.writeHead(200).end(doc('beta')),
      want: 'ready',
      control: true,
    },
  ];
  for (const row of ROWS)
    it(`${row.control ? 'control: ' : ''}${row.name} → ${row.want}`, async () => {
      const { url, requests } = await serve((req, res, hit) =>
        hit === 1 ? res.writeHead(200, row.first).end(doc('beta')) : row.then(req, res, hit),
      );
      const logger = quietLogger();
      const source = createHttpSource({
        url: `${url}/rules`,
        intervalMs: 20,
        backoff: { initialMs: 20, maxMs: 40, jitter: 0 },
        logger,
      });
      cleanups.push(() => source.stop());
      await source.start(recordingStore().store);
      const loadedAt = source.status().lastSuccess;
      expect(source.status().state).toBe('ready');
      await waitFor(() => requests.length >= 5, 5_000, 'four more polls');
      await waitFor(
        () => source.status().state === row.want && requests.length >= 6,
        5_000,
        `state ${row.want}`,
      );
      if (row.want === 'stale') {
        expect(source.status().lastError).toMatch(
          /304 Not Modified to a request without If-None-Match/,
        );
        // Unconditional 304s never refreshed the last success: it is the last 200's.
        if (!row.name.includes('200 without')) expect(source.status().lastSuccess).toBe(loadedAt);
        expect(logger.lines.filter((l) => l.includes('304')).length).toBe(1);
      }
    });
});

describe('D8b: stop() before the first attempts end is not a degraded start', () => {
  /** Extra sources beside one whose first answer is held until after stop(). */
  const BESIDE: Array<{
    name: string;
    make: () => Promise<ReturnType<typeof createHttpSource>[]>;
  }> = [
    { name: 'alone', make: async () => [] },
    {
      name: 'beside one answering 500',
      make: async () => {
        const { url } = await serve((_q, res) => res.writeHead(500).end());
        return [createHttpSource({ name: 'b', url: `${url}/r`, ...slow, ...quiet })];
      },
    },
    {
      name: 'beside one refused',
      make: async () => [
        createHttpSource({ name: 'b', url: await closedPort(), ...slow, ...quiet }),
      ],
    },
  ];
  for (const b of BESIDE)
    it(`a pending HTTP answer, ${b.name}: no "no rule source is ready" line, state stopped`, async () => {
      let release: (() => void) | undefined;
      const { url, requests } = await serve((_q, res) => {
        release = () => res.writeHead(200).end(doc('beta'));
      });
      const logger = quietLogger();
      const handle = startSources(
        recordingStore().store,
        [createHttpSource({ url: `${url}/rules`, logger, ...slow }), ...(await b.make())],
        { logger, meter: false },
      );
      await waitFor(() => requests.length === 1, 5_000, 'the first request');
      await handle.stop();
      release?.();
      expect((await handle.ready).state).toBe('stopped');
      expect(logger.lines.filter((l) => l.includes('no rule source is ready'))).toEqual([]);
    });

  it('control: without a stop, a start with no source ready logs it once', async () => {
    const logger = quietLogger();
    const handle = startSources(
      recordingStore().store,
      [createHttpSource({ url: await closedPort(), ...slow, ...quiet })],
      { logger, meter: false },
    );
    cleanups.push(() => handle.stop());
    expect((await handle.ready).state).toBe('degraded');
    expect(logger.lines.filter((l) => l.includes('no rule source is ready')).length).toBe(1);
  });
});

describe('D8c: a source name is scrubbed in every log line, as on the status page', () => {
  const NAMES = [
    'http://127.0.0.1:1/rules?token=SECRET123',
    'rules?access_token=SECRET123&x=1',
    'https://admin:SECRET123@cfg.internal/rules',
    'cfg password=SECRET123',
    'Bearer SECRET123abcdefghijklmnop',
  ];
  const KINDS: Array<{
    name: string;
    run: (name: string, logger: ReturnType<typeof quietLogger>) => Promise<() => Promise<void>>;
  }> = [
    {
      name: 'http, connection refused',
      run: async (name, logger) => {
        const s = createHttpSource({ name, url: await closedPort(), logger, ...slow });
        await s.start(recordingStore().store);
        return () => s.stop();
      },
    },
    {
      name: 'http, 401 (fatal)',
      run: async (name, logger) => {
        const { url } = await serve((_q, res) => res.writeHead(401).end());
        const s = createHttpSource({ name, url: `${url}/r`, logger, ...slow });
        await s.start(recordingStore().store);
        return () => s.stop();
      },
    },
    {
      name: 'http, a URL with credentials (refused at start)',
      run: async (name, logger) => {
        const s = createHttpSource({ name, url: 'http://u:p@127.0.0.1:1/r', logger, ...slow });
        await s.start(recordingStore().store);
        return () => s.stop();
      },
    },
    {
      name: 'a source built on sourceRuntime (etcd, web) writing its raw name',
      run: async (name, logger) => {
        const rt = sourceRuntime({ name, logger }, 'x');
        rt.logger.warn(`[graylane] ${name} source: down`);
        rt.logger.error(`[graylane] ${rt.name}: fatal`);
        return () => Promise.resolve();
      },
    },
  ];
  for (const kind of KINDS)
    for (const name of NAMES)
      it(`${kind.name}, name ${JSON.stringify(name.slice(0, 30))}: no line holds the secret`, async () => {
        const logger = quietLogger();
        const errors: unknown[] = [];
        const stop = await kind.run(name, {
          ...logger,
          error: (m: string, e?: unknown) => {
            errors.push(e);
            logger.error(m);
          },
        } as ReturnType<typeof quietLogger>);
        await stop();
        expect(logger.lines.length).toBeGreaterThan(0);
        expect(logger.lines.join('\n')).not.toContain('SECRET123');
        expect(errors.map((e) => String((e as Error | undefined)?.message))).not.toContainEqual(
          expect.stringContaining('SECRET123'),
        );
      });
});

describe('D7: the docs list every graylane.outbound result', () => {
  const root = new URL('../../../../', import.meta.url);
  const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');
  const PLACES = [
    { file: 'docs/observability.md', line: /^\| `graylane\.outbound` \|.*$/m },
    { file: 'docs/operations.md', line: /^\| `graylane\.outbound` \|.*$/m },
    { file: 'docs/node.md', line: /`graylane\.outbound` counts per hop:[\s\S]*?\. The outbound/ },
  ];
  for (const p of PLACES)
    it(`${p.file} names exactly the code's closed list`, () => {
      const text = p.line.exec(read(p.file))?.[0] ?? '';
      const named = [...text.matchAll(/`((?:injected|skipped_)[a-z_]*)`/g)].map((m) => m[1]);
      expect([...new Set(named)].sort()).toEqual([...OUTBOUND_RESULTS].sort());
    });
});
