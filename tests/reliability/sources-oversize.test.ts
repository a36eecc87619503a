import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore, MAX_CONFIG_BYTES, type RuleSource } from '@graylane/core';
import { createEtcdSource } from '@graylane/etcd';
import { createFileSource, createHttpSource, startSources } from '@graylane/node/sources';
import type { MeterLike } from '@graylane/node/sources';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  type EtcdProcess,
} from '../../packages/etcd/test/harness.js';
import { closeAll, listen, sleep } from './helpers.js';

/**
 * SRC-05 / FLT-02, the size half (review 139, low): a document over `MAX_CONFIG_BYTES` (1 MiB) is
 * refused before it is parsed by every source — file, HTTP body, etcd value at the first read and
 * through the watch — and counted `graylane.config.reloads{result="failed"}`, as
 * docs/observability.md and configuration.md say. etcd used to hand its whole value to the store
 * (`rejected`). The size is the bytes on the wire, so a BOM or multi-byte characters count.
 * Controls: a document of exactly the cap is offered to the store (`changed`, or `rejected` when
 * it is invalid). Counted by `startSources` on a real OTel SDK meter; a real etcd on loopback.
 */
const binary = findEtcdBinary(); // throws under CI=true when etcd is missing
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const BASE = { versions: ['stable', 'beta'], default: 'stable' };
const GOOD = JSON.stringify({ ...BASE, rules: [{ id: 'good', version: 'beta' }] });
/** A valid config of exactly `bytes` UTF-8 bytes: JSON allows any trailing whitespace. */
const padded = (bytes: number, doc = JSON.stringify(BASE)): Buffer =>
  Buffer.from(doc + ' '.repeat(bytes - Buffer.byteLength(doc)));
/** A valid config whose rule description is `n` two-byte characters. */
const accented = (n: number): Buffer =>
  Buffer.from(
    JSON.stringify({ ...BASE, rules: [{ id: 'r', version: 'beta', description: 'é'.repeat(n) }] }),
  );
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Over the cap: every source refuses it before parsing — a failed load, never `rejected`. */
const OVERSIZE: readonly [string, Buffer][] = [
  ['one byte over the cap', padded(MAX_CONFIG_BYTES + 1)],
  ["1.2 MB (the review's value)", padded(1_200_000)],
  [
    'multi-byte: fewer characters than the cap, more bytes',
    accented(Math.ceil(MAX_CONFIG_BYTES / 2) + 10),
  ],
  [
    'a BOM in front of a document of exactly the cap',
    Buffer.concat([BOM, padded(MAX_CONFIG_BYTES)]),
  ],
  ['over the cap and not UTF-8', Buffer.concat([padded(MAX_CONFIG_BYTES), Buffer.from([0xff])])],
];
/** Controls at the cap: offered to the store, which answers. */
const AT_CAP: readonly [string, Buffer, 'changed' | 'rejected'][] = [
  ['control: a valid document of exactly the cap', padded(MAX_CONFIG_BYTES), 'changed'],
  [
    'control: an invalid document of exactly the cap',
    padded(MAX_CONFIG_BYTES, JSON.stringify({ ...BASE, default: 'oops' })),
    'rejected',
  ],
];
const REASON = `document larger than ${MAX_CONFIG_BYTES} bytes`;

/** A reader collected on demand, cumulative. */
class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new Reader();
const provider = new MeterProvider({ readers: [reader] });
const meter = provider.getMeter('sources-oversize') as unknown as MeterLike;

/** `graylane.config.reloads` of source `name`, by result, leaving out the series at 0. */
async function reloads(name: string): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, number> = {};
  for (const sm of resourceMetrics.scopeMetrics)
    for (const m of sm.metrics)
      if (m.descriptor.name === 'graylane.config.reloads')
        for (const p of m.dataPoints as { value: number; attributes: Record<string, string> }[])
          if (p.attributes['source'] === name && p.value > 0)
            out[p.attributes['result'] as string] = p.value;
  return out;
}

/** Waits for an async condition (a metrics collection), at most `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const quiet = { warn: () => undefined, error: () => undefined };
const work = mkdtempSync(join(tmpdir(), 'graylane-oversize-'));
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await closeAll();
});
afterAll(async () => {
  await provider.shutdown();
  rmSync(work, { recursive: true, force: true });
});
let n = 0;

/** Starts `source` under `startSources` on the test meter; resolves when `ready` settles. */
async function run(source: RuleSource) {
  const store = createConfigStore({ initial: GOOD });
  const handle = startSources(store, [source], { meter, logger: quiet });
  stops.push(() => handle.stop());
  await handle.ready;
  return store;
}

/** The row's checks once a source was offered `bytes` over the cap. */
async function expectFailed(
  name: string,
  source: RuleSource,
  store: ReturnType<typeof createConfigStore>,
) {
  await until(async () => Object.keys(await reloads(name)).length > 0, 5_000, 'a counted load');
  expect(await reloads(name)).toEqual({ failed: 1 });
  // Each source words it its own way; every one names the cap.
  expect(source.status().lastError).toContain(String(MAX_CONFIG_BYTES));
  expect(store.get().config.rules[0]?.id).toBe('good');
}

describe('SRC-05 FLT-02 a document over 1 MiB is a failed load in every source', () => {
  it.each(OVERSIZE)('control (parity): file source, %s: failed, LKG kept', async (_n, bytes) => {
    const path = join(work, `rules-${++n}.json`);
    writeFileSync(path, bytes);
    const name = `file-${n}`;
    const source = createFileSource({ path, name, logger: quiet });
    const store = await run(source);
    await expectFailed(name, source, store);
  });

  it.each(OVERSIZE)('control (parity): HTTP source, %s: failed, LKG kept', async (_n, bytes) => {
    const { url } = await listen(http.createServer((_req, res) => res.end(bytes)));
    const name = `http-${++n}`;
    const source = createHttpSource({ url, name, logger: quiet, intervalMs: 60_000 });
    const store = await run(source);
    await expectFailed(name, source, store);
  });

  it.each(AT_CAP)('file source, %s', async (_n, bytes, result) => {
    const path = join(work, `rules-${++n}.json`);
    writeFileSync(path, bytes);
    const name = `file-${n}`;
    await run(createFileSource({ path, name, logger: quiet }));
    await until(async () => Object.keys(await reloads(name)).length > 0, 5_000, 'a load');
    expect(await reloads(name)).toEqual({ [result]: 1 });
  });
});

describe.skipIf(!binary)('SRC-05 FLT-02 an etcd value over 1 MiB is a failed load', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });
  const source = (key: string, name: string) =>
    createEtcdSource({ hosts: etcd.endpoint, key, name, logger: quiet });

  it.each(OVERSIZE)('etcd, first read, %s: failed, LKG kept', async (_n, bytes) => {
    const key = `/graylane/oversize/${++n}`;
    await admin.put(key).value(bytes);
    const name = `etcd-${n}`;
    const s = source(key, name);
    const store = await run(s);
    await expectFailed(name, s, store);
    expect(s.status().lastError).toBe(REASON);
  });

  it.each(OVERSIZE)(
    'etcd, through the watch, %s: failed, LKG kept; a good value applies',
    async (_n, bytes) => {
      const key = `/graylane/oversize/${++n}`;
      await admin.put(key).value(GOOD);
      const name = `etcd-${n}`;
      const s = source(key, name);
      const store = await run(s);
      expect(s.status().state).toBe('ready');
      await admin.put(key).value(bytes);
      await until(async () => (await reloads(name))['failed'] === 1, 5_000, 'the refusal');
      expect(await reloads(name)).toEqual({ unchanged: 1, failed: 1 });
      expect(s.status()).toMatchObject({ state: 'stale', lastError: REASON });
      expect(store.get().config.rules[0]?.id).toBe('good');
      await admin
        .put(key)
        .value(JSON.stringify({ ...BASE, rules: [{ id: 'fixed', version: 'beta' }] }));
      await until(() => store.get().config.rules[0]?.id === 'fixed', 5_000, 'the fixed value');
      expect(await reloads(name)).toEqual({ unchanged: 1, failed: 1, changed: 1 });
    },
  );

  it.each(AT_CAP)('etcd, first read, %s', async (_n, bytes, result) => {
    const key = `/graylane/oversize/${++n}`;
    await admin.put(key).value(bytes);
    const name = `etcd-${n}`;
    await run(source(key, name));
    await until(async () => Object.keys(await reloads(name)).length > 0, 5_000, 'a load');
    expect(await reloads(name)).toEqual({ [result]: 1 });
  });
});
