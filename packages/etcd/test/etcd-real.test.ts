import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdSource } from '../src/index.js';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  freePort,
  startEtcd,
  startTcpProxy,
  type EtcdProcess,
} from './harness.js';
import { doc, quietLogger, recordingStore, waitFor } from './helpers.js';

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

/** Short schedule so real outages stay within the suite budget; FLT-03 checks the real one. */
const FAST = { initialMs: 100, maxMs: 400 };
const KEY = '/graylane/config';

describe.skipIf(!binary)('etcd source against a real etcd', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });

  it('CFG-01 CFG-12 initial get, watch from rev+1: valid puts apply, truncated JSON keeps the LKG, same content is no change', async () => {
    await admin.put(KEY).value(doc('beta'));
    const { store, events } = recordingStore();
    const source = createEtcdSource({ hosts: etcd.endpoint, key: KEY, logger: quietLogger() });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(source.status().state).toBe('ready');
    expect(store.get().config.default).toBe('beta');

    const started = performance.now();
    await admin.put(KEY).value(doc('stable'));
    await waitFor(() => store.get().config.default === 'stable', 5_000, 'watch update');
    const latency = performance.now() - started;
    expect(latency).toBeLessThan(1_000);

    await admin.put(KEY).value(doc('beta').slice(0, 20)); // CFG-01
    await waitFor(() => events.some((e) => e.type === 'rejected'), 5_000, 'rejection');
    expect(store.get().config.default).toBe('stable');
    expect(source.status().state).toBe('stale');

    const changes = events.filter((e) => e.type === 'change').length;
    await admin.put(KEY).value(' { "versions": ["stable","beta"], "default": "stable" } '); // CFG-12
    await waitFor(() => source.status().state === 'ready', 5_000, 'ready again');
    expect(events.filter((e) => e.type === 'change')).toHaveLength(changes);
  });

  it('FLT-01 cold start with etcd unreachable: start resolves fast, default served, error status', async () => {
    const port = await freePort();
    const { store } = recordingStore();
    const source = createEtcdSource({
      hosts: `http://127.0.0.1:${port}`,
      key: KEY,
      logger: quietLogger(),
      backoff: FAST,
    });
    cleanups.push(() => source.stop());
    const started = performance.now();
    await source.start(store);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(source.status().state).toBe('error');
    expect(store.get().source).toBe('embedded');
    expect(store.get().config.default).toBe('stable');
  });

  it('FLT-02 etcd down 5 s then back: STALE with the LKG during the outage, READY + change after', async () => {
    await admin.put(KEY).value(doc('beta'));
    const { store, events } = recordingStore();
    const states: string[] = [];
    const source = createEtcdSource({
      hosts: etcd.endpoint,
      key: KEY,
      logger: quietLogger(),
      backoff: FAST,
      onStatus: (s) => states.push(s.state),
    });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(store.get().config.default).toBe('beta');

    admin.close();
    await etcd.stop();
    const outageEnds = Date.now() + 5_000;
    let served = 0;
    while (Date.now() < outageEnds) {
      expect(store.get().config.default).toBe('beta'); // every "request" is served from the LKG
      served++;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(source.status().state).toBe('stale');
    await etcd.start();
    admin = new Etcd3({ hosts: etcd.endpoint });
    await waitFor(() => source.status().state === 'ready', 10_000, 'reconnect');
    await admin.put(KEY).value(doc('stable'));
    await waitFor(() => store.get().config.default === 'stable', 5_000, 'change after reconnect');
    expect(served).toBeGreaterThan(100);
    expect(states).toContain('stale');
    expect(states.at(-1)).toBe('ready');
    expect(events.filter((e) => e.type === 'rejected')).toHaveLength(0);
  });

  it('FLT-06 compaction while disconnected: full get at the current revision, v3 applied, delete not missed', async () => {
    await admin.put(KEY).value(doc('stable'));
    const proxy = await startTcpProxy(etcd.port);
    cleanups.push(() => proxy.close());
    const { store } = recordingStore();
    const source = createEtcdSource({
      hosts: proxy.endpoint,
      key: KEY,
      logger: quietLogger(),
      backoff: FAST,
    });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(source.status().state).toBe('ready');

    proxy.block();
    await waitFor(() => source.status().state === 'stale', 5_000, 'disconnect noticed');
    await admin.put(KEY).value(doc('beta', { rules: [{ id: 'v2', version: 'stable' }] }));
    await admin.put(KEY).value(doc('beta', { rules: [{ id: 'v3', version: 'beta' }] }));
    const head = await admin.get(KEY).exec();
    await admin.kv.compact({ revision: head.header.revision, physical: true });
    proxy.unblock();
    await waitFor(() => store.get().config.rules[0]?.id === 'v3', 10_000, 'v3 after compaction');
    expect(source.status().state).toBe('ready');

    proxy.block();
    await waitFor(() => source.status().state === 'stale', 5_000, 'second disconnect');
    await admin.delete().key(KEY);
    proxy.unblock();
    await waitFor(() => source.status().lastError === 'key absent', 10_000, 'delete seen');
    expect(store.get().config.rules[0]?.id).toBe('v3'); // I5: a deleted key never empties the config
  });

  it('FLT-04 auth failure: fatal after one attempt, loud error, LKG kept', async () => {
    const secured = await startEtcd(binary as string);
    const root = new Etcd3({ hosts: secured.endpoint });
    cleanups.push(async () => {
      root.close();
      await secured.dispose();
    });
    await root.put(KEY).value(doc('beta'));
    await root.user('root').create('s3cret');
    await root.user('root').addRole('root');
    await root.auth.authEnable({});

    const logger = quietLogger();
    const { store } = recordingStore();
    const source = createEtcdSource({
      hosts: secured.endpoint,
      key: KEY,
      auth: { username: 'root', password: 'wrong' },
      logger,
      backoff: FAST,
    });
    cleanups.push(() => source.stop());
    await source.start(store);
    expect(source.status()).toMatchObject({ state: 'error', fatal: true });
    const lines = logger.lines.length;
    await new Promise((r) => setTimeout(r, 1_000)); // > 2 backoff periods: no retry happens
    expect(logger.lines).toHaveLength(lines);
    expect(
      logger.lines.some((l) => l.startsWith('error') && /SOURCE_FATAL|credentials/.test(l)),
    ).toBe(true);
    expect(store.get().config.default).toBe('stable');
  });
});
