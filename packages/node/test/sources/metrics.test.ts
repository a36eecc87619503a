import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '@graylane/core';
import { createHttpSource, startSources, type MeterLike } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore } from './helpers.js';

describe('source metrics and status', () => {
  it('counts reloads by result and reports staleness through an OTel meter', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    let body = doc('beta');
    let fail = false;
    const fetch = (): Promise<Response> =>
      fail ? Promise.reject(new Error('down')) : Promise.resolve(new Response(body));
    const source = createHttpSource({
      url: 'http://x/',
      intervalMs: 60_000,
      fetch,
      backoff: { initialMs: 60_000 },
      logger: quietLogger(),
    });
    const { store } = recordingStore();
    const handle = startSources(store, [source], {
      meter: provider.getMeter('t') as unknown as MeterLike,
    });
    expect((await handle.ready).state).toBe('ready');
    body = 'not json';
    fail = true;
    await source.stop();
    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const reloads = metrics.find((m) => m.descriptor.name === METRIC_NAMES.reloads);
    // Every result's series exists from the start, at 0 until counted (review 108 D2).
    expect(reloads?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ source: 'http', result: 'changed' }, 1],
      [{ source: 'http', result: 'unchanged' }, 0],
      [{ source: 'http', result: 'stale' }, 0],
      [{ source: 'http', result: 'rejected' }, 0],
      [{ source: 'http', result: 'failed' }, 0],
    ]);
    const staleness = metrics.find((m) => m.descriptor.name === METRIC_NAMES.staleness);
    expect(staleness?.dataPoints[0]?.attributes).toEqual({ source: 'http' });
    expect(typeof staleness?.dataPoints[0]?.value).toBe('number');
    await handle.stop();
    expect(handle.status().state).toBe('stopped');
    await provider.shutdown();
  });

  it('works without any meter (OTel optional) and reports per-source status', async () => {
    const source = createHttpSource({
      url: 'http://x/',
      intervalMs: 60_000,
      fetch: () => Promise.resolve(new Response(doc('beta'))),
      logger: quietLogger(),
    });
    const handle = startSources(recordingStore().store, [source]);
    const status = await handle.ready;
    expect(status.sources[0]).toMatchObject({ name: 'http', status: { state: 'ready' } });
    expect(status.config).toMatchObject({ version: 2, source: 'http' });
    await handle.stop();
  });
});
