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

describe('I2 runWithGray(string) of a version a middleware in this process declares keeps its name', () => {
  // Versions no other row in this file uses, so the rows above stay as they were.
  const gray = createGraylane({
    config: { versions: ['stable', 'green', 'blue'], default: 'stable' },
  });

  it.each(
    BINDINGS.flatMap(([how, run]) =>
      [
        ['declared by the config in force', 'green', 'green'],
        ['declared too', 'blue', 'blue'],
        ['declared by no config', 'violet', UNDECLARED],
        ['declared by no config, named like the label', 'undeclared', UNDECLARED],
      ].map(([what, v, label]) => [`${how}: ${String(what)}`, run, v!, label!] as const),
    ),
  )('%s', async (_n, run, version, label) => {
    const before = rowsFor(label);
    expect(runWithGray(version, run)).toBe('stable');
    expect(rowsFor(label) - before).toBe(1);
    if (label === UNDECLARED) expect(rowsFor(version)).toBe(0);
    expect(await wantedSeries()).toContain(label);
  });

  it('a version the config no longer declares (swapped out) is undeclared again', () => {
    const store = createGraylane({
      config: { versions: ['stable', 'amber'], default: 'stable' },
    }).store;
    const run = BINDINGS[0]![1];
    const named = rowsFor('amber');
    runWithGray('amber', run);
    expect(rowsFor('amber') - named).toBe(1);
    expect(store.update({ versions: ['stable'], default: 'stable' }).status).toBe('changed');
    const undeclared = rowsFor(UNDECLARED);
    runWithGray('amber', run);
    expect(rowsFor('amber') - named).toBe(1);
    expect(rowsFor(UNDECLARED) - undeclared).toBe(1);
  });

  it('one store shared by many middlewares is asked once; past 32 stores the oldest is forgotten', () => {
    const run = BINDINGS[0]![1];
    const first = createGraylane({ config: { versions: ['stable', 'teal'], default: 'stable' } });
    for (let i = 0; i < 40; i++) createGraylane({ config: first.store });
    const teal = rowsFor('teal');
    runWithGray('teal', run);
    expect(rowsFor('teal') - teal).toBe(1);
    const kept = Array.from({ length: 32 }, () =>
      createGraylane({ config: { versions: ['stable', 'olive'], default: 'stable' } }),
    );
    const undeclared = rowsFor(UNDECLARED);
    runWithGray('teal', run);
    expect(rowsFor('teal') - teal).toBe(1);
    expect(rowsFor(UNDECLARED) - undeclared).toBe(1);
    expect(kept).toHaveLength(32);
    expect(gray.store.get().config.hasVersion('green')).toBe(true);
  });
});
