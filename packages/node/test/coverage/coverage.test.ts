import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import axios from 'axios';
import * as undici from 'undici';
import {
  attachGray,
  coverageStats,
  createGraylane,
  grayInterceptor,
  installCoverage,
  installGlobal,
  runWithGray,
  withGray,
} from '@graylane/node';
import { createStatusHandler } from '@graylane/node/status';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delta, HTTP_SITES, memoryLogger, startTarget, type Target } from './harness.js';

/*
 * Issue 19, propagation coverage: every outbound request the process makes inside a lane is seen
 * through Node's diagnostics channels, wrapped or not, and counted per destination as carried,
 * missing (allowlisted, left without the marker: the lane broke; logged once per call site) or
 * withheld (not allowlisted: I8 held). RELIABILITY ids: OUT-01 (the marker reached an allowlisted
 * host), OUT-02 (not sent elsewhere), OUT-03 (the caller's own header counts), I7/I8.
 */

const here = 'coverage.test.ts';
/** The one row every destination that is not allowlisted is counted in (never named). */
const WITHHELD = 'not-allowlisted';
let a: Target; // allowlisted
let b: Target; // not allowlisted
const log = memoryLogger();
let uninstall: () => void;

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
const reader = new TestReader();

beforeAll(async () => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  [a, b] = await Promise.all([startTarget(), startTarget()]);
  uninstall = installCoverage({ logger: log.logger });
});
afterAll(async () => {
  uninstall();
  metrics.disable();
  await Promise.all([a.close(), b.close()]);
});

/** Inside a lane `beta` whose middleware allowlists `a` only. */
const inLane = <T>(fn: () => Promise<T>) =>
  runWithGray('beta', fn, { allowHosts: [a.host] }) as Promise<T>;

const drain = (res: http.IncomingMessage) =>
  new Promise<void>((resolve, reject) => {
    res.resume();
    res.on('end', resolve).on('error', reject);
  });

type Client = (url: string) => Promise<unknown>;

/** Clients graylane does not wrap: each makes one request, from a line of this file. */
const UNWRAPPED: [string, Client][] = [
  [
    'http.request',
    (url) =>
      new Promise((r, j) =>
        http
          .request(url, (res) => r(drain(res)))
          .on('error', j)
          .end(),
      ),
  ],
  [
    'http.get',
    (url) => new Promise((r, j) => http.get(url, (res) => r(drain(res))).on('error', j)),
  ],
  [
    'http.request (options object)',
    (url) =>
      new Promise((r, j) =>
        http
          .request({ host: '127.0.0.1', port: new URL(url).port, path: '/o' }, (res) =>
            r(drain(res)),
          )
          .on('error', j)
          .end(),
      ),
  ],
  ['axios without attachGray', (url) => axios.get(url)],
  ['undici.request', async (url) => (await undici.request(url)).body.text()],
  ['undici.fetch', async (url) => (await undici.fetch(url)).text()],
  [
    'undici.stream',
    (url) =>
      undici.stream(url, { method: 'GET' }, () => new Writable({ write: (_c, _e, cb) => cb() })),
  ],
  ['global fetch', async (url) => (await fetch(url)).text()],
  [
    'global fetch POST with a body',
    async (url) => (await fetch(url, { method: 'POST', body: 'x' })).text(),
  ],
];

describe('propagation coverage (issue 19)', () => {
  it.each(UNWRAPPED)(
    'OUT-01 I8 unwrapped %s inside a lane → missing, with a call site in the test',
    async (_name, client) => {
      const d = await delta(a.origin, () => inLane(() => client(`${a.origin}/x`)));
      expect(d).toMatchObject({ carried: 0, missing: 1, withheld: 0 });
      expect(a.seen.at(-1)).toBe('');
      const site = d.site ?? '';
      // node:http has no call-site channel before Node 22.13 (axios runs on node:http).
      if (/^(http|axios)/.test(_name) && !HTTP_SITES) expect(site).toBe('unknown call site');
      else expect(site).toContain(here);
      expect(site).not.toMatch(/node:|node_modules|<anonymous>|packages\/node\/(dist|src)/);
    },
  );

  it.each(UNWRAPPED)(
    'OUT-02 I8 unwrapped %s to a host that is not allowlisted → withheld',
    async (_name, client) => {
      const d = await delta(WITHHELD, () => inLane(() => client(`${b.origin}/x`)));
      expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 1 });
      expect(b.seen.at(-1)).toBe('');
    },
  );

  it.each(UNWRAPPED)(
    'I7 unwrapped %s outside any lane, no request in flight → not counted',
    async (_name, client) => {
      await settle();
      const before = coverageStats();
      const d = await delta(a.origin, () => client(`${a.origin}/x`));
      expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 0 });
      expect(coverageStats().unbound).toBe(before.unbound);
    },
  );

  const WRAPPED: [string, Client][] = [
    ['withGray(global fetch)', async (url) => (await withGray(fetch)(url)).text()],
    [
      'withGray(undici.fetch)',
      async (url) => (await withGray(undici.fetch)(url)).text(),
    ],
    [
      'undici.request via grayInterceptor',
      async (url) =>
        (
          await undici.request(url, { dispatcher: new undici.Agent().compose(grayInterceptor()) })
        ).body.text(),
    ],
    [
      'axios + attachGray',
      (url) => {
        const api = axios.create();
        attachGray(api);
        return api.get(url);
      },
    ],
    [
      "http.request with the caller's own X-Gray-Id (OUT-03)",
      (url) =>
        new Promise((r, j) =>
          http
            .request(url, { headers: { 'x-gray-id': 'beta' } }, (res) => r(drain(res)))
            .on('error', j)
            .end(),
        ),
    ],
    [
      "global fetch with the caller's own baggage member",
      async (url) => (await fetch(url, { headers: { baggage: 'tenant=acme,gray=beta' } })).text(),
    ],
  ];

  it.each(WRAPPED)('OUT-01 %s inside a lane → carried', async (_name, client) => {
    const d = await delta(a.origin, () => inLane(() => client(`${a.origin}/x`)));
    expect(d).toMatchObject({ carried: 1, missing: 0, withheld: 0 });
  });

  it.each(WRAPPED.slice(0, 4))(
    'OUT-02 I8 %s to a host that is not allowlisted → withheld',
    async (_name, client) => {
      const d = await delta(WITHHELD, () => inLane(() => client(`${b.origin}/x`)));
      expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 1 });
      expect(b.seen.at(-1)).toBe('');
    },
  );

  describe('with installGlobal()', () => {
    let undo: () => void;
    beforeAll(() => {
      undo = installGlobal();
    });
    afterAll(() => undo());
    const GLOBAL = UNWRAPPED.filter(([name]) => !name.startsWith('undici.fetch'));
    it.each(GLOBAL)('OUT-01 %s inside a lane → carried', async (_name, client) => {
      const d = await delta(a.origin, () => inLane(() => client(`${a.origin}/g`)));
      expect(d).toMatchObject({ carried: 1, missing: 0, withheld: 0 });
      expect(a.seen.at(-1)).toBe('beta');
    });
    it.each(GLOBAL)(
      'OUT-02 %s to a host that is not allowlisted → withheld',
      async (_name, client) => {
        const d = await delta(WITHHELD, () => inLane(() => client(`${b.origin}/g`)));
        expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 1 });
      },
    );
  });

  it('OUT-01 a missing call is logged once per call site, with the site', async () => {
    const same = () => inLane(() => fetch(`${a.origin}/dedupe`).then((r) => r.text()));
    const linesBefore = log.lines.length;
    for (let i = 0; i < 5; i++) await same();
    const mine = log.lines.slice(linesBefore);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(here);
    expect(mine[0]).toContain(a.origin);
    expect(mine[0]).toContain('lane beta');
    // Another site: logged again.
    await inLane(() => fetch(`${a.origin}/dedupe-2`).then((r) => r.text()));
    expect(log.lines.length - linesBefore).toBe(2);
  });

  it('I7 a call made with no lane from a pool that lost the request context → unbound, with a site', async () => {
    // A worker started outside any lane: jobs run in its context, not the request's.
    const jobs: (() => void)[] = [];
    const worker = setInterval(() => jobs.shift()?.(), 2);
    const server = http.createServer((req, res) => {
      void inLane(
        () =>
          new Promise<void>((done) => {
            jobs.push(
              () =>
                void fetch(`${a.origin}/pool`)
                  .then((r) => r.text())
                  .then(() => done()),
            );
          }),
      ).then(() => res.end('served'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await settle();
      const before = coverageStats().unbound;
      const port = (server.address() as { port: number }).port;
      const d = await delta(a.origin, () =>
        fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()),
      );
      expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 0 });
      const after = coverageStats();
      expect(after.unbound - before).toBe(1);
      expect(after.lastUnboundSite).toContain(here);
      expect(log.lines.some((l) => l.includes('no lane bound') && l.includes(here))).toBe(true);
    } finally {
      clearInterval(worker);
      server.closeAllConnections();
      server.close();
    }
  });

  it('I7 a call made with no lane by a dependency alone (an exporter flushing) is not unbound', async () => {
    // A module under node_modules whose own timer makes the call: no frame of the app's.
    const dir = mkdtempSync(join(tmpdir(), 'graylane-cov-'));
    const pkg = join(dir, 'node_modules', 'fake-exporter');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'index.mjs'),
      'export const flushSoon = (url) => new Promise((done) => setTimeout(() => fetch(url).then((r) => r.text()).then(done), 1));\n',
    );
    const { flushSoon } = (await import(pathToFileURL(join(pkg, 'index.mjs')).href)) as {
      flushSoon: (url: string) => Promise<string>;
    };
    let flushed = false;
    const server = http.createServer((req, res) => {
      void flushSoon(`${a.origin}/export`).then(() => {
        flushed = true;
        res.end('served');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await settle();
      const before = coverageStats().unbound;
      const port = (server.address() as { port: number }).port;
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      expect(flushed).toBe(true);
      expect(coverageStats().unbound).toBe(before);
    } finally {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('I7 with unbound: false, a call from a pool that lost the request context is not counted', async () => {
    uninstall();
    uninstall = installCoverage({ logger: log.logger, unbound: false });
    // The same lost-context pool as above: its worker was started outside any lane.
    const jobs: (() => void)[] = [];
    const worker = setInterval(() => jobs.shift()?.(), 2);
    let inFlightCalls = 0;
    const server = http.createServer((req, res) => {
      void inLane(
        () =>
          new Promise<void>((done) => {
            jobs.push(() => {
              inFlightCalls++;
              void fetch(`${a.origin}/quiet`)
                .then((r) => r.text())
                .then(() => done());
            });
          }),
      ).then(() => res.end('served'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await settle();
      const before = coverageStats().unbound;
      const port = (server.address() as { port: number }).port;
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      expect(inFlightCalls).toBe(1);
      expect(coverageStats().unbound).toBe(before);
    } finally {
      clearInterval(worker);
      server.closeAllConnections();
      server.close();
      uninstall();
      uninstall = installCoverage({ logger: log.logger });
    }
  });

  it('OUT-01 the OTel counter graylane.propagation has result and destination', async () => {
    await inLane(() => fetch(`${a.origin}/otel`).then((r) => r.text()));
    await inLane(() => withGray(fetch)(`${a.origin}/otel`).then((r) => r.text()));
    await inLane(() => fetch(`${b.origin}/otel`).then((r) => r.text()));
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'graylane.propagation');
    const points = new Map(
      (metric?.dataPoints ?? []).map((p) => [
        `${String(p.attributes.result)} ${String(p.attributes.destination)}`,
        p.value as number,
      ]),
    );
    expect(points.get(`missing ${a.origin}`)).toBeGreaterThan(0);
    expect(points.get(`carried ${a.origin}`)).toBeGreaterThan(0);
    expect(points.get(`withheld ${WITHHELD}`)).toBeGreaterThan(0);
    // I8: a destination that is not allowlisted is never named in a label.
    expect([...points.keys()].some((k) => k.includes(b.origin))).toBe(false);
    expect(points.get(`missing ${a.origin}`)).toBe(
      coverageStats().destinations.find((r) => r.destination === a.origin)?.missing,
    );
  });

  it('OUT-01 the status report lists coverage, most missing first', async () => {
    const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
    const status = createStatusHandler({ graylane: gray, enabled: true });
    try {
      const rows = status.report().propagation ?? [];
      const row = rows.find((r) => r.destination === a.origin);
      expect(row?.missing).toBeGreaterThan(0);
      expect(row?.lastMissingSite).toContain(here);
      expect(rows.map((r) => r.missing)).toEqual(
        [...rows.map((r) => r.missing)].sort((x, y) => y - x),
      );
    } finally {
      status.close();
    }
  });

  it('I1 uninstall stops counting; a second install while installed is a no-op; uninstall is idempotent', async () => {
    const noop = installCoverage();
    noop();
    let d = await delta(a.origin, () =>
      inLane(() => fetch(`${a.origin}/still`).then((r) => r.text())),
    );
    expect(d.missing).toBe(1);
    uninstall();
    uninstall();
    d = await delta(a.origin, () => inLane(() => fetch(`${a.origin}/off`).then((r) => r.text())));
    expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 0 });
    d = await delta(a.origin, () =>
      inLane(() => new Promise((r) => http.get(`${a.origin}/off`, (res) => r(drain(res))))),
    );
    expect(d).toMatchObject({ carried: 0, missing: 0, withheld: 0 });
    uninstall = installCoverage({ logger: log.logger });
    d = await delta(a.origin, () => inLane(() => fetch(`${a.origin}/again`).then((r) => r.text())));
    expect(d.missing).toBe(1);
  });
});

/** Lets the target servers close the responses of earlier calls (in-flight count back to 0). */
async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5));
}
