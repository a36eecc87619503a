import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hearFailedLoads, type ConfigStore } from '@graylane/core';
import { createEtcdSource } from '../src/index.js';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  freePort,
  startEtcd,
  type EtcdProcess,
} from './harness.js';
import { doc, quietLogger, recordingStore, waitFor } from './helpers.js';

// FLT-01 FLT-02: the etcd source tells the store it feeds of every load attempt that offered it
// no document — etcd unreachable, the key absent (at the first read or deleted later), a value
// that is not UTF-8, options that can never work — which `startSources` counts as
// graylane.config.reloads{result="failed"}. A value the store rejects is the store's `rejected`,
// never also a failed load. A real etcd on 127.0.0.1 (skipped without the binary).

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const KEY = '/graylane/failed-load';
const FAST = { initialMs: 100, maxMs: 400 };

/** A store that records what the source reports as failed loads, and the store's own answers. */
function hearing(): { store: ConfigStore; failed: string[]; rejected: () => number } {
  const { store, events } = recordingStore();
  const failed: string[] = [];
  const wrapped = hearFailedLoads(
    {
      get: () => store.get(),
      subscribe: (listener) => store.subscribe(listener),
      update: (input, meta) => store.update(input, meta),
    } satisfies ConfigStore,
    (source) => failed.push(source),
  );
  return {
    store: wrapped,
    failed,
    rejected: () => events.filter((e) => e.type === 'rejected').length,
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('FLT-01 a failed etcd load attempt is reported to the store', () => {
  it('FLT-01 etcd unreachable (nothing listens): every attempt is a failed load', async () => {
    const port = await freePort();
    const { store, failed } = hearing();
    const source = createEtcdSource({
      name: 'cfg',
      hosts: `http://127.0.0.1:${port}`,
      key: KEY,
      backoff: FAST,
      requestTimeoutMs: 2_000,
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(source.status().state).toBe('error');
    expect(failed).toEqual(['cfg']);
    await waitFor(() => failed.length >= 2, 10_000, 'a retry');
    expect(new Set(failed)).toEqual(new Set(['cfg']));
  });

  it('FLT-04 a host with credentials in it: fatal at start, one failed load', async () => {
    const { store, failed } = hearing();
    const source = createEtcdSource({
      name: 'cfg',
      hosts: 'http://root:secret@127.0.0.1:1',
      key: KEY,
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(source.status()).toMatchObject({ state: 'error', fatal: true });
    expect(failed).toEqual(['cfg']);
  });
});

describe.skipIf(!binary)('FLT-02 failed etcd loads against a real etcd', () => {
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

  const start = async (key: string) => {
    const heard = hearing();
    const source = createEtcdSource({
      name: 'cfg',
      hosts: etcd.endpoint,
      key,
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    await source.start(heard.store);
    return { ...heard, source };
  };

  it('FLT-02 the key is absent at the first read: one failed load', async () => {
    const { failed, rejected, source } = await start(`${KEY}/absent`);
    expect(source.status().state).toBe('error');
    expect(failed).toEqual(['cfg']);
    expect(rejected()).toBe(0);
  });

  it('SRC-05 a value that is not UTF-8: one failed load', async () => {
    await admin.put(`${KEY}/latin1`).value(Buffer.from('{"default":"caf\xe9"}', 'latin1'));
    const { failed, rejected } = await start(`${KEY}/latin1`);
    expect(failed).toEqual(['cfg']);
    expect(rejected()).toBe(0);
  });

  it('control: FLT-02 a value the store rejects: the store counts it, no failed load', async () => {
    await admin.put(`${KEY}/invalid`).value('{"versions":["stable"],"default":"oops"}');
    const { failed, rejected, source } = await start(`${KEY}/invalid`);
    expect(source.status().state).toBe('error');
    expect(rejected()).toBe(1);
    expect(failed).toEqual([]);
  });

  it('FLT-02 a valid value, then the key deleted, then put back', async () => {
    await admin.put(`${KEY}/deleted`).value(doc('beta'));
    const { failed, source } = await start(`${KEY}/deleted`);
    expect(source.status().state).toBe('ready');
    expect(failed).toEqual([]);
    await admin.delete().key(`${KEY}/deleted`);
    await waitFor(() => failed.length === 1, 5_000, 'the delete');
    expect(source.status().state).toBe('stale');
    await admin.put(`${KEY}/deleted`).value(doc('stable'));
    await waitFor(() => source.status().state === 'ready', 5_000, 'the put');
    expect(failed).toEqual(['cfg']);
  });

  it('FLT-02 etcd stopped under a live watch: failed loads until it is back', async () => {
    await admin.put(`${KEY}/outage`).value(doc('beta'));
    const heard = hearing();
    const source = createEtcdSource({
      name: 'cfg',
      hosts: etcd.endpoint,
      key: `${KEY}/outage`,
      backoff: FAST,
      requestTimeoutMs: 1_000,
      logger: quietLogger(),
    });
    cleanups.push(() => source.stop());
    await source.start(heard.store);
    expect(heard.failed).toEqual([]);
    await etcd.stop();
    try {
      await waitFor(() => heard.failed.length >= 1, 15_000, 'a failed attempt');
    } finally {
      await etcd.start();
    }
    await waitFor(() => source.status().state === 'ready', 20_000, 'the reconnect');
    const after = heard.failed.length;
    expect(after).toBeGreaterThanOrEqual(1);
    expect(source.status().state).toBe('ready');
  });
});
