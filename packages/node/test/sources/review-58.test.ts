import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../../tools/manual-clock.js';
import {
  createFileSource,
  createHttpSource,
  startSources,
  type MeterLike,
} from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore, tempDir, waitFor, type Cleanups } from './helpers.js';

/**
 * Review 58, real HTTP servers and files:
 * - SRC-05: a 206 to a request sent without `Range` was taken as the whole document (and any
 *   2xx but 200/203 — 226 a delta, 204/205 no content — was offered to the store). Only 200 and
 *   203 carry the document now; any other 2xx is a failure like a 500: the last good config
 *   stays, the status says why, `graylane.config.reloads{result="failed"}` counts it.
 * - SRC-02: a symlink loop on the path (ELOOP) after the path was missing was reported as
 *   `file missing` (the periodic check saw one "missing" identity for both); a missing path after
 *   a loop kept saying ELOOP. The status now names the cause the last read met.
 * Rows named `(control)` held before.
 */

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

async function serve(handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  let hits = 0;
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, ++hits);
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

async function prometheus(): Promise<{
  meter: MeterLike;
  reloads: (source: string) => Promise<Record<string, number>>;
}> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const { url } = await serve((req, res) => exporter.getMetricsRequestHandler(req, res));
  cleanups.push(() => provider.shutdown());
  return {
    meter: provider.getMeter('review-58') as unknown as MeterLike,
    reloads: async (source) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^graylane_config_reloads_total\{([^}]*)\} (\S+)/gm)) {
        const labels = m[1] as string;
        if (!labels.includes(`source="${source}"`)) continue;
        out[/result="([^"]+)"/.exec(labels)?.[1] as string] = Number(m[2]);
      }
      return out;
    },
  };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const BETA = doc('beta');
const quiet = { logger: { warn: () => undefined, error: () => undefined } };
const slow = { intervalMs: 60_000, backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } };

/** How a bad answer is sent: status, headers, body. */
interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string> | undefined;
  readonly body?: string | undefined;
}

const whole = Buffer.byteLength(BETA);
const BAD: [string, Answer][] = [
  [
    '206 with the whole document as its body and a Content-Range for all of it',
    { status: 206, headers: { 'content-range': `bytes 0-${whole - 1}/${whole}` }, body: BETA },
  ],
  ['206 with the whole document and no Content-Range', { status: 206, body: BETA }],
  [
    '206 with the first half of the document',
    { status: 206, headers: { 'content-range': `bytes 0-19/${whole}` }, body: BETA.slice(0, 20) },
  ],
  [
    '206 multipart/byteranges',
    {
      status: 206,
      headers: { 'content-type': 'multipart/byteranges; boundary=B' },
      body: `--B\r\nContent-Range: bytes 0-${whole - 1}/${whole}\r\n\r\n${BETA}\r\n--B--\r\n`,
    },
  ],
  ['226 IM Used (a delta) with the document as its body', { status: 226, body: BETA }],
  ['204 No Content', { status: 204 }],
  ['205 Reset Content', { status: 205 }],
  ['207 Multi-Status with the document as its body', { status: 207, body: BETA }],
  ['299 with the document as its body', { status: 299, body: BETA }],
];

function answer(res: ServerResponse, a: Answer): void {
  res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
}

describe('SRC-05: only 200 and 203 carry the whole document (review 58)', () => {
  it.each(BAD.filter(([, a]) => a.body !== undefined && a.body === BETA))(
    'first poll answered %s: nothing loaded, status error, counted failed',
    async (_name, bad) => {
      const { url, requests } = await serve((_q, res) => answer(res, bad));
      const { meter, reloads } = await prometheus();
      const { store, changes } = recordingStore();
      const clock = createManualClock();
      const source = createHttpSource({
        name: 'src',
        url: `${url}/rules`,
        clock,
        ...slow,
        ...quiet,
      });
      const handle = startSources(store, [source], { meter, clock, ...quiet });
      cleanups.push(() => handle.stop());
      const settled = await handle.ready;
      expect(requests[0]?.headers['range']).toBeUndefined();
      expect(store.get().config.default).toBe('stable');
      expect(changes()).toBe(0);
      expect(source.status().state).toBe('error');
      expect(source.status().lastError).toContain(`HTTP ${bad.status}`);
      expect(settled.state).toBe('degraded');
      expect(await reloads('src')).toMatchObject({ failed: 1, changed: 0, rejected: 0 });
    },
  );

  it.each(BAD)(
    'after a good load, a poll answered %s: the last good config stays, stale, counted failed like a 500',
    async (_name, bad) => {
      const { url } = await serve((_q, res, hit) =>
        hit === 1
          ? res.writeHead(200).end(BETA)
          : answer(res, {
              ...bad,
              body: bad.body === BETA ? doc('stable', { description: 'x' }) : bad.body,
            }),
      );
      const { meter, reloads } = await prometheus();
      const { store, changes } = recordingStore();
      const clock = createManualClock();
      const log = quietLogger();
      const source = createHttpSource({
        name: 'src',
        url: `${url}/rules`,
        clock,
        ...slow,
        logger: log,
      });
      const handle = startSources(store, [source], { meter, clock, ...quiet });
      cleanups.push(() => handle.stop());
      expect((await handle.ready).state).toBe('ready');
      expect(store.get().config.default).toBe('beta');
      await clock.advance(60_001);
      await waitFor(() => source.status().state === 'stale', 5_000, 'the second poll');
      expect(store.get().config.default).toBe('beta');
      expect(changes()).toBe(1);
      expect(source.status().lastError).toContain(`HTTP ${bad.status}`);
      expect(log.lines.join('\n')).toContain('keeping the last good config');
      await until(async () => (await reloads('src'))['failed'] === 1, 'the failure counted');
      expect(await reloads('src')).toMatchObject({ failed: 1, changed: 1, rejected: 0 });
    },
  );

  it.each([
    ['(control) 200', 200],
    ['(control) 203 Non-Authoritative Information', 203],
  ])('%s loads the document', async (_name, status) => {
    const { url } = await serve((_q, res) => res.writeHead(status).end(BETA));
    const { store } = recordingStore();
    const source = createHttpSource({ url: `${url}/rules`, ...slow, ...quiet });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(store.get().config.default).toBe('beta');
    expect(source.status().state).toBe('ready');
  });
});

/** A file source on `<dir>/current/rules.json` that re-checks its path every 20 ms. */
function fileSource(dir: string): ReturnType<typeof createFileSource> {
  return createFileSource({
    path: join(dir, 'current', 'rules.json'),
    debounceMs: 0,
    settleMs: 0,
    rearmMs: 20,
    ...quiet,
  });
}

/** Steps on `dir` (a `rel1/rules.json` holding beta exists): each replaces `current`. */
const STEP = {
  good: (dir: string) => symlinkSync('rel1', join(dir, 'current')),
  dangling: (dir: string) => symlinkSync('nowhere', join(dir, 'current')),
  loop: (dir: string) => symlinkSync('current', join(dir, 'current')),
  loop2: (dir: string) => {
    rmSync(join(dir, 'other'), { force: true });
    symlinkSync('other', join(dir, 'current'));
    symlinkSync('current', join(dir, 'other'));
  },
  removed: () => undefined,
  fileLoop: (dir: string) => {
    mkdirSync(join(dir, 'rel2'), { recursive: true });
    rmSync(join(dir, 'rel2', 'rules.json'), { force: true });
    symlinkSync('rules.json', join(dir, 'rel2', 'rules.json'));
    symlinkSync('rel2', join(dir, 'current'));
  },
} as const;
type Step = keyof typeof STEP;

const MISSING = /^file missing$/;
const LOOP = /ELOOP/;
const READY = /^$/;

describe('SRC-02: the status names the cause the path meets now (review 58)', () => {
  const rows: [string, Step[], RegExp][] = [
    ['dangling → loop: ELOOP, not "file missing"', ['good', 'dangling', 'loop'], LOOP],
    ['removed → loop: ELOOP', ['good', 'removed', 'loop'], LOOP],
    [
      'dangling → two-link loop (current → other → current): ELOOP',
      ['good', 'dangling', 'loop2'],
      LOOP,
    ],
    ['loop → dangling: "file missing", not ELOOP', ['good', 'loop', 'dangling'], MISSING],
    ['loop → removed: "file missing"', ['good', 'loop', 'removed'], MISSING],
    [
      'dangling → loop → dangling: "file missing"',
      ['good', 'dangling', 'loop', 'dangling'],
      MISSING,
    ],
    [
      '(control) dangling → loop of the file itself in a swapped directory: ELOOP',
      ['good', 'dangling', 'fileLoop'],
      LOOP,
    ],
    ['(control) good → loop: ELOOP', ['good', 'loop'], LOOP],
    ['(control) good → dangling: "file missing"', ['good', 'dangling'], MISSING],
    ['dangling → loop → good: ready again', ['good', 'dangling', 'loop', 'good'], READY],
  ];
  it.each(rows)('%s', async (_name, steps, want) => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'rel1'));
    writeFileSync(join(dir, 'rel1', 'rules.json'), BETA);
    const { store } = recordingStore();
    const source = fileSource(dir);
    cleanups.push(() => source.stop());
    for (const [i, step] of steps.entries()) {
      rmSync(join(dir, 'current'), { force: true });
      STEP[step](dir);
      if (i === 0) {
        await source.start(store);
        expect(source.status().state).toBe('ready');
        expect(store.get().config.default).toBe('beta');
        continue;
      }
      const expected =
        step === 'good' ? READY : step === 'dangling' || step === 'removed' ? MISSING : LOOP;
      await waitFor(
        () =>
          expected.test(source.status().lastError ?? '') &&
          (step !== 'good' || source.status().state === 'ready'),
        3_000,
        `step ${i} (${step}): ${String(expected)}, got ${JSON.stringify(source.status())}`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; status ${JSON.stringify(source.status())}`);
      });
    }
    // The last step's cause stays (a few more checks do not change it).
    await new Promise((r) => setTimeout(r, 100));
    expect(source.status().lastError ?? '').toMatch(want);
    expect(store.get().config.default).toBe('beta');
  });
});
