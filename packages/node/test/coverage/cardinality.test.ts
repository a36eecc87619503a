import http from 'node:http';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { coverageStats, createGraylane, installCoverage, runWithGray } from '@graylane/node';
import { createStatusHandler } from '@graylane/node/status';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, startTarget, type Target } from './harness.js';

/*
 * Issue 19, I2-style cardinality for coverage (the stats, the status page and the `destination`
 * attribute of graylane.propagation), I4 bounded work, I8 no request-chosen host shown.
 * Only allowlisted destinations — bounded by the operator's allowlist — get a row of their own
 * (at most 50, then `other`); every destination that is not allowlisted shares one
 * `not-allowlisted` row. So a request-driven fan-out to thousands of hosts (webhooks to
 * user-chosen URLs) can neither hide a broken allowlisted link under `other` nor put its hosts
 * on the page.
 */

const WITHHELD = 'not-allowlisted';
const log = memoryLogger();
let uninstall: () => void;
let target: Target;

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new Reader();

beforeAll(async () => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  target = await startTarget();
  uninstall = installCoverage({ logger: log.logger, unbound: false });
});
afterAll(async () => {
  uninstall();
  metrics.disable();
  await target.close();
});

/** A plain node:http call (no marker): refused at once, counted all the same. */
const call = (origin: string) =>
  new Promise<void>((resolve) => {
    const req = http.request(`${origin}/`, { agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.end();
  });

/** `n` distinct loopback origins nothing listens on (port 9): hosts a request could choose. */
const chosen = (tag: number, n: number) =>
  Array.from({ length: n }, (_, i) => `http://127.${tag}.${1 + (i >> 8)}.${i & 255}:9`);

async function fanOut(origins: readonly string[]) {
  for (let i = 0; i < origins.length; i += 50)
    await Promise.all(origins.slice(i, i + 50).map(call));
}

async function propagationSeries() {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === 'graylane.propagation')
    .flatMap((m) =>
      m.dataPoints.map((p) => ({
        result: String(p.attributes['result']),
        destination: String(p.attributes['destination']),
        value: p.value as number,
      })),
    );
}

describe('I2 I8 request-driven fan-out never hides a broken allowlisted link', () => {
  it.each([
    [60, 1],
    [500, 2],
    [2000, 3],
  ])(
    '%i not-allowlisted destinations, then a missing marker to an allowlisted one',
    async (n, tag) => {
      const origins = chosen(tag, n);
      const before = coverageStats();
      const withheldBefore = before.destinations.find((r) => r.destination === WITHHELD);
      const linesBefore = log.lines.length;
      await runWithGray(
        'beta',
        async () => {
          await fanOut(origins);
          await call(target.origin); // allowlisted, left without the marker: the lane broke
        },
        { allowHosts: [target.host] },
      );
      const rows = coverageStats().destinations;
      // The broken link has its own row, first (most missing).
      const own = rows.find((r) => r.destination === target.origin);
      expect(own?.missing).toBe(tag);
      expect(rows[0]?.destination).toBe(target.origin);
      expect(rows.find((r) => r.destination === 'other')).toBeUndefined();
      // Every chosen host is in the one shared row, none named.
      expect(rows.find((r) => r.destination === WITHHELD)?.withheld).toBe(
        (withheldBefore?.withheld ?? 0) + n,
      );
      expect(rows).toHaveLength(2);
      const named = new Set(origins);
      expect(rows.some((r) => named.has(r.destination))).toBe(false);
      // The status page, the OTel series and the log line agree.
      const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
      const status = createStatusHandler({ graylane: gray, enabled: true });
      const page = status.report().propagation ?? [];
      status.close();
      expect(page.map((r) => r.destination).sort()).toEqual([WITHHELD, target.origin].sort());
      const series = await propagationSeries();
      expect(series.some((s) => named.has(s.destination))).toBe(false);
      expect(new Set(series.map((s) => s.destination))).toEqual(
        new Set([WITHHELD, target.origin]),
      );
      expect(
        series.find((s) => s.result === 'missing' && s.destination === target.origin)?.value,
      ).toBe(tag);
      if (tag === 1) {
        const mine = log.lines.slice(linesBefore);
        expect(mine).toHaveLength(1);
        expect(mine[0]).toContain(`a call to ${target.origin} left without the marker`);
      }
    },
  );
});

describe('I4 allowlisted destinations: 50 rows of their own, then `other`', () => {
  const targets: Target[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 60; i++) targets.push(await startTarget());
  });
  afterAll(() => Promise.all(targets.map((t) => t.close())));

  it('60 allowlisted destinations inside a lane', async () => {
    const before = coverageStats().destinations;
    const named = before.filter((r) => r.destination !== WITHHELD).length;
    await runWithGray(
      'beta',
      async () => {
        for (const t of targets) await (await fetch(`${t.origin}/`)).text();
      },
      { allowHosts: targets.map((t) => t.host) },
    );
    const after = coverageStats().destinations;
    const own = after.filter((r) => targets.some((t) => t.origin === r.destination));
    expect(own).toHaveLength(50 - named);
    expect(after.find((r) => r.destination === 'other')?.missing).toBe(60 - (50 - named));
    expect(after.filter((r) => r.destination !== WITHHELD && r.destination !== 'other')).toHaveLength(50);
  });
});

describe('I8 a marker that leaves for a host outside the allowlist is logged at its call site', () => {
  /** A node:http call that carries the marker header itself (the app set it). */
  const leak = (origin: string) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        `${origin}/`,
        { agent: false, headers: { 'x-gray-id': 'beta' } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => resolve());
      req.end();
    });

  it.each([1, 5, 40])('%i leaking calls from one site: one line, no host named', async (n) => {
    const origins = chosen(9 + n, n);
    const linesBefore = log.lines.length;
    const carriedBefore =
      coverageStats().destinations.find((r) => r.destination === WITHHELD)?.carried ?? 0;
    await runWithGray('beta', () => Promise.all(origins.map((o) => leak(o))), {
      allowHosts: [target.host],
    });
    const row = coverageStats().destinations.find((r) => r.destination === WITHHELD);
    expect(row?.carried).toBe(carriedBefore + n);
    const mine = log.lines.slice(linesBefore);
    // The first row logs the site; later rows from the same site stay quiet (once per site).
    expect(mine.length).toBe(n === 1 ? 1 : 0);
    for (const line of mine) {
      expect(line).toContain('a call to a host outside the allowlist left with the marker');
      expect(line).toContain('(lane beta) at ');
      for (const o of origins) expect(line).not.toContain(new URL(o).host);
    }
  });
});
