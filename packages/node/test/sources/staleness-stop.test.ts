import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC_NAMES, type ConfigStore, type RuleSource, type SourceStatus } from '@graylane/core';
import { startSources, type MeterLike, type SourcesHandle } from '../../src/sources/index.js';
import { doc, recordingStore } from './helpers.js';

/*
 * The staleness gauge after `stop()`: a handle stopped on purpose (a shutdown, a source swap)
 * must stop exporting `graylane.config.staleness` — else the documented GraylaneSourceStale
 * alert fires for a source nobody runs — and the gauge must not keep the handle reachable.
 * The labels (`source`) are scrubbed of credentials like the status page (MISC-03).
 */

class Reader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A source that succeeded once, long ago, and is in error now: its staleness keeps growing. */
function staleSource(name: string): RuleSource {
  const status: SourceStatus = { state: 'error', lastSuccess: Date.now() - 600_000 };
  return {
    name,
    async start(store: ConfigStore) {
      store.update(doc('beta'), { source: name });
    },
    stop: () => Promise.resolve(),
    status: () => status,
  };
}

async function readings(reader: MetricReader, name: string) {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints.map((p) => [p.attributes['source'], p.value] as const));
}

async function points(reader: MetricReader, name: string) {
  return (await readings(reader, name)).map(([source]) => source);
}

type Observe = (r: { observe(v: number, a?: Record<string, string>): void }) => void;

/** An SDK meter whose gauges record removeCallback calls. */
function spiedMeter(provider: MeterProvider, removed: Observe[]): MeterLike {
  const meter = provider.getMeter('t') as unknown as MeterLike;
  return {
    createCounter: (n, o) => meter.createCounter(n, o),
    createObservableGauge(n, o) {
      const gauge = meter.createObservableGauge(n, o);
      return {
        addCallback: (cb) => gauge.addCallback(cb),
        removeCallback(cb) {
          removed.push(cb);
          gauge.removeCallback?.(cb);
        },
      };
    },
  };
}

/** A meter whose gauge has no removeCallback (an older api): it collects by hand. */
function meterWithoutRemove(observed: [string, number][]): MeterLike & { collect(): void } {
  const callbacks: Observe[] = [];
  return {
    createCounter: () => ({ add: () => undefined }),
    createObservableGauge: () => ({ addCallback: (cb) => void callbacks.push(cb) }),
    collect: () => {
      for (const cb of callbacks)
        cb({ observe: (v, a) => void observed.push([String(a?.['source']), v]) });
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

const handles: SourcesHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  metrics.disable();
});

describe('graylane.config.staleness after stop()', () => {
  it.each([
    ['an explicit SDK meter', 'explicit'],
    ['the global MeterProvider (default meter, registered before startSources)', 'global'],
  ] as const)('%s: growing while running; after stop 0, the callback removed', async (_n, how) => {
    const reader = new Reader();
    const provider = new MeterProvider({ readers: [reader] });
    const removed: Observe[] = [];
    if (how === 'global') metrics.setGlobalMeterProvider(provider);
    const h = startSources(
      recordingStore().store,
      [staleSource('rules')],
      how === 'explicit' ? { meter: spiedMeter(provider, removed) } : {},
    );
    handles.push(h);
    await h.ready;
    let seen: (readonly [unknown, unknown])[] = [];
    for (let i = 0; i < 250 && seen.length === 0; i++) {
      seen = await readings(reader, METRIC_NAMES.staleness);
      if (seen.length === 0) await tick();
    }
    expect(seen.map(([s]) => s)).toEqual(['rules']);
    expect(seen[0]?.[1]).toBeGreaterThan(500);
    await h.stop();
    for (let i = 0; i < 3; i++) {
      // Once at 0 — a stopped source is not stale — then never observed again.
      expect(await readings(reader, METRIC_NAMES.staleness)).toEqual([['rules', 0]]);
      await tick();
    }
    if (how === 'explicit') expect(removed).toHaveLength(1);
  });

  it('a swap: the stopped handle reads 0, the new one is observed', async () => {
    const reader = new Reader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('t') as unknown as MeterLike;
    const first = startSources(recordingStore().store, [staleSource('rules')], { meter });
    await first.ready;
    await first.stop();
    const second = startSources(recordingStore().store, [staleSource('rules-v2')], { meter });
    handles.push(second);
    await second.ready;
    const after = new Map(await readings(reader, METRIC_NAMES.staleness));
    expect(after.get('rules')).toBe(0);
    expect(after.get('rules-v2')).toBeGreaterThan(500);
  });

  it('stop() before the OTel api finished loading: nothing is ever registered', async () => {
    const reader = new Reader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const h = startSources(recordingStore().store, [staleSource('rules')]);
    await h.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(await points(reader, METRIC_NAMES.staleness)).toEqual([]);
  });

  it('an api without removeCallback: 0 once after stop, then nothing', async () => {
    const observed: [string, number][] = [];
    const meter = meterWithoutRemove(observed);
    const h = startSources(recordingStore().store, [staleSource('rules')], { meter });
    await h.ready;
    meter.collect();
    expect(observed.map(([s]) => s)).toEqual(['rules']);
    await h.stop();
    meter.collect();
    meter.collect();
    expect(observed.slice(1)).toEqual([['rules', 0]]);
  });
});

describe('MISC-03 source metric labels are scrubbed', () => {
  it.each([
    [
      'URL userinfo',
      'https://ops:hunter2x@rules.internal/r.json',
      'https://***@rules.internal/r.json',
    ],
    ['@ in the password', 'etcd://root:p@hunter2x@etcd:2379/g', 'etcd://***@etcd:2379/g'],
    [
      'query token',
      'https://rules.internal/r.json?token=hunter2x',
      'https://rules.internal/r.json?token=***',
    ],
  ])('%s', async (_n, name, label) => {
    const reader = new Reader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('t') as unknown as MeterLike;
    const h = startSources(recordingStore().store, [staleSource(name)], { meter });
    handles.push(h);
    await h.ready;
    expect(await points(reader, METRIC_NAMES.staleness)).toEqual([label]);
    // One series per reload result, created at 0 at start (review 108 D2).
    expect(await points(reader, METRIC_NAMES.reloads)).toEqual([label, label, label, label, label]);
  });
});
