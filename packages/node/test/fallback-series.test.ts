import http from 'node:http';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { isVersionLabel } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGraylane,
  defineLanes,
  grayBranch,
  grayHandlers,
  outboundStats,
  runWithGray,
} from '../src/index.js';
import { closeAll, listen } from './helpers.js';

/*
 * I2 (labels from closed sets: declared versions + 1): a consumer that binds the version a
 * message carries (`runWithGray(header, …)`) can be handed any well-formed label. Such a
 * version was checked against no config, so every lane fallback it causes is counted under one
 * fixed `wanted` label, `(undeclared)` — outside the version grammar, so no real version
 * (not even one named `other`) shares it. A version decided against a config (the middleware,
 * a Decision) keeps its name. In-process rows and the OTel series alike.
 */

const UNDECLARED = '(undeclared)';

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new Reader();
beforeAll(() => metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] })));
afterAll(async () => {
  await closeAll();
  metrics.disable();
});

const lanes = defineLanes({ implements: ['stable'], fallback: 'stable' });
const handlers = grayHandlers({ stable: () => 'stable' }, { fallback: 'stable' });
const BINDINGS: readonly (readonly [string, () => unknown])[] = [
  ['grayHandlers', () => handlers()],
  ['grayBranch with lanes', () => grayBranch({ stable: () => 'stable' }, { lanes })],
];

const rowsFor = (wanted: string) =>
  outboundStats()
    .fallbacks.filter((r) => r.wanted === wanted)
    .reduce((n, r) => n + r.count, 0);

async function wantedSeries(): Promise<Set<string>> {
  const { resourceMetrics } = await reader.collect();
  return new Set(
    resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === 'graylane.lane.fallbacks')
      .flatMap((m) => m.dataPoints.map((p) => String(p.attributes['wanted']))),
  );
}

describe('I2 runWithGray(string): fallbacks count under one label', () => {
  it('the label is outside the version grammar', () => {
    expect(isVersionLabel(UNDECLARED)).toBe(false);
  });

  it.each(
    BINDINGS.flatMap(([how, run]) =>
      [
        ['500 distinct message versions', Array.from({ length: 500 }, (_, i) => `m${i}`)],
        ['a version named other', ['other']],
        ['a version named undeclared', ['undeclared']],
        ['a version a config elsewhere declares', ['beta']],
      ].map(([what, versions]) => [`${how}, ${String(what)}`, run, versions as string[]] as const),
    ),
  )('%s', async (_n, run, versions) => {
    const before = rowsFor(UNDECLARED);
    for (const v of versions) expect(runWithGray(v, run)).toBe('stable');
    expect(rowsFor(UNDECLARED) - before).toBe(versions.length);
    for (const v of versions) expect(rowsFor(v)).toBe(0);
    const series = await wantedSeries();
    for (const v of versions) expect(series.has(v)).toBe(false);
    expect(series.has(UNDECLARED)).toBe(true);
  });

  it('no row and no series besides the declared versions and (undeclared)', async () => {
    const wanted = new Set(outboundStats().fallbacks.map((r) => r.wanted));
    for (const w of wanted) expect(['beta', 'other', UNDECLARED]).toContain(w);
    for (const w of await wantedSeries()) expect(['beta', 'other', UNDECLARED]).toContain(w);
  });
});

describe('I2 a version decided against a config keeps its name', () => {
  it.each(BINDINGS)('%s: runWithGray(Decision)', async (_n, run) => {
    const before = rowsFor('beta');
    runWithGray({ version: 'beta', reason: 'header', source: 'header' }, run);
    expect(rowsFor('beta') - before).toBe(1);
    expect(await wantedSeries()).toContain('beta');
  });

  it.each(['beta', 'other'])(
    'the middleware: a request for %s (declared; `other` is a real version here)',
    async (version) => {
      const gray = createGraylane({
        config: { versions: ['stable', 'beta', 'other'], default: 'stable' },
      });
      const s = await listen(
        http.createServer((req, res) =>
          gray.middleware(req, res, () => res.end(String(handlers()))),
        ),
      );
      const before = rowsFor(version);
      const undeclared = rowsFor(UNDECLARED);
      const body = await (await fetch(s.url, { headers: { 'x-gray-id': version } })).text();
      expect(body).toBe('stable');
      expect(rowsFor(version) - before).toBe(1);
      expect(rowsFor(UNDECLARED)).toBe(undeclared);
      expect(await wantedSeries()).toContain(version);
    },
  );
});
