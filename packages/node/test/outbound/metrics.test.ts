import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, expect, it } from 'vitest';
import { createGraylane, runWithGray, withGray, type FetchLike } from '../../src/index.js';
import { closeAll, decisionFor, listen } from '../helpers.js';
import http from 'node:http';

/*
 * Issue 20: `@opentelemetry/api` has no proxy MeterProvider — a meter taken before the app
 * registers its SDK stays a no-op. graylane's counters must reach a MeterProvider registered
 * after the first request, and follow a replaced one. Real sdk-metrics, in-memory exporter.
 */

afterEach(async () => {
  metrics.disable();
  await closeAll();
});

function sdk(): { provider: MeterProvider; exporter: InMemoryMetricExporter } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  return { provider: new MeterProvider({ readers: [reader] }), exporter };
}

async function sums(
  provider: MeterProvider,
  exporter: InMemoryMetricExporter,
): Promise<Record<string, number>> {
  await provider.forceFlush();
  const out: Record<string, number> = {};
  for (const rm of exporter.getMetrics())
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        out[m.descriptor.name] = m.dataPoints.reduce((n, p) => n + (p.value as number), 0);
  exporter.reset();
  return out;
}

async function serve(): Promise<{ url: string }> {
  const gray = createGraylane({ config: { versions: ['stable', 'beta'], default: 'stable' } });
  const server = http.createServer((req, res) => gray.handle(req, res, () => res.end('{}')));
  return listen(server);
}

it('issue 20: a MeterProvider registered after the first request receives graylane metrics', async () => {
  const { url } = await serve();
  await decisionFor(url, { 'x-gray-id': 'beta' }); // counted while the global provider is the no-op
  const { provider, exporter } = sdk();
  metrics.setGlobalMeterProvider(provider);
  await decisionFor(url, { 'x-gray-id': 'beta' });
  await decisionFor(url, { 'x-gray-id': 'nope' });
  await runWithGray(
    'beta',
    () => withGray((async () => new Response('ok')) as FetchLike)('http://127.0.0.1/'),
    {
      allowHosts: ['127.0.0.1'],
    },
  );
  const got = await sums(provider, exporter);
  expect(got['graylane.decisions']).toBe(2);
  expect(got['graylane.markers.invalid']).toBe(1);
  expect(got['graylane.outbound']).toBe(1);
  await provider.shutdown();
});

it('issue 20: a replaced MeterProvider gets the counts from then on; disabling stops them', async () => {
  const { url } = await serve();
  const first = sdk();
  metrics.setGlobalMeterProvider(first.provider);
  await decisionFor(url);
  metrics.disable();
  const second = sdk();
  metrics.setGlobalMeterProvider(second.provider);
  await decisionFor(url);
  await decisionFor(url);
  expect((await sums(first.provider, first.exporter))['graylane.decisions']).toBe(1);
  expect((await sums(second.provider, second.exporter))['graylane.decisions']).toBe(2);
  metrics.disable();
  await decisionFor(url); // the no-op again: nothing reaches either
  expect((await sums(second.provider, second.exporter))['graylane.decisions']).toBe(2);
  await Promise.all([first.provider.shutdown(), second.provider.shutdown()]);
});
