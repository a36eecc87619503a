import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConfigStore, type ConfigStore, type RuleSource } from '@graylane/core';
import { createEtcdSource } from '@graylane/etcd';
import { createFileSource, createHttpSource, startSources } from '@graylane/node/sources';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  startTcpProxy,
  type EtcdProcess,
  type TcpProxy,
} from '../../packages/etcd/test/harness.js';
import { sleep, waitFor } from './helpers.js';

/**
 * SRC-01 (a restored or rebuilt etcd: revisions go backwards) and SRC-03 (the revision guard is
 * per source instance and epoch) against real etcd processes on loopback. Each row resets the
 * cluster a different way, then writes several values whose revisions stay below the last one the
 * source saw; every write must apply, and a watchdog fails the row if the source ever reports
 * `ready` while the store lags behind etcd for longer than the bound.
 */
const binary = findEtcdBinary(); // throws under CI=true when etcd is missing
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const KEY = '/graylane/src';
const FAST = { initialMs: 100, maxMs: 400 };
/** A write must be in force within this (generous for a shared 2-core machine). */
const APPLY_MS = 10_000;
/** `ready` with a stale store for longer than this is a deaf source. */
const DEAF_MS = 3_000;
const quiet = { warn: () => undefined, error: () => undefined };
const doc = (id: string, def = 'stable'): string =>
  JSON.stringify({ versions: ['stable', 'beta'], default: def, rules: [{ id, version: 'beta' }] });
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;

async function put(endpoint: string, value: string, key = KEY): Promise<void> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    await client.put(key).value(value);
  } finally {
    client.close();
  }
}
async function del(endpoint: string, key = KEY): Promise<void> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    await client.delete().key(key);
  } finally {
    client.close();
  }
}

/**
 * Fails when the source says `ready` while the store has not caught up with the last write for
 * longer than {@link DEAF_MS} (SRC-01: "status never claims ready while ignoring writes").
 */
function deafWatchdog(source: RuleSource, store: ConfigStore) {
  let expected: string | undefined;
  let since = 0;
  const violations: string[] = [];
  const timer = setInterval(() => {
    if (expected === undefined || ruleOf(store) === expected) return;
    if (source.status().state === 'ready' && performance.now() - since > DEAF_MS)
      violations.push(`ready while serving ${ruleOf(store)} instead of ${expected}`);
  }, 50);
  return {
    wrote(id: string) {
      expected = id;
      since = performance.now();
    },
    violations,
    stop: () => clearInterval(timer),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
const work = mkdtempSync(join(tmpdir(), 'graylane-src-etcd-'));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cluster(): Promise<EtcdProcess> {
  const etcd = await startEtcd(binary as string);
  cleanups.push(() => etcd.dispose());
  return etcd;
}
async function proxyTo(etcd: EtcdProcess): Promise<TcpProxy> {
  const proxy = await startTcpProxy(etcd.port);
  cleanups.push(() => proxy.close());
  return proxy;
}
function running(endpoint: string, store: ConfigStore, name?: string): RuleSource {
  const source = createEtcdSource({
    hosts: endpoint,
    key: KEY,
    logger: quiet,
    backoff: FAST,
    ...(name === undefined ? {} : { name }),
  });
  cleanups.push(() => source.stop());
  return source;
}

/** How a row takes the cluster back in time: the value in force right after (if any), and where later writes go. */
interface Reset {
  readonly name: string;
  run(ctx: {
    etcd: EtcdProcess;
    proxy: TcpProxy;
    snapshot: string;
  }): Promise<{ inForce?: string; writeTo?: EtcdProcess }>;
}

const RESETS: readonly Reset[] = [
  {
    name: 'rebuilt: data dir wiped, same port, key absent until written',
    run: async ({ etcd }) => {
      await etcd.rebuild();
      return {};
    },
  },
  {
    name: 'rebuilt and written while the source was cut off (it reconnects to a lower revision)',
    run: async ({ etcd, proxy }) => {
      proxy.block();
      await etcd.rebuild();
      await put(etcd.endpoint, doc('written-while-away'));
      proxy.unblock();
      return { inForce: 'written-while-away' };
    },
  },
  {
    name: 'restored from a snapshot taken 20 writes ago (an older value comes back)',
    run: async ({ etcd, snapshot }) => {
      await etcd.restore(snapshot);
      return { inForce: 'snap' };
    },
  },
  {
    name: 'restored from a snapshot while the source was cut off',
    run: async ({ etcd, proxy, snapshot }) => {
      proxy.block();
      await etcd.restore(snapshot);
      proxy.unblock();
      return { inForce: 'snap' };
    },
  },
  {
    name: 'failover to a freshly built cluster behind the same address (new cluster id)',
    run: async ({ proxy }) => {
      const fresh = await cluster();
      await put(fresh.endpoint, doc('fresh-cluster'));
      proxy.retarget(fresh.port);
      return { inForce: 'fresh-cluster', writeTo: fresh };
    },
  },
];

describe.skipIf(!binary)('SRC-01 etcd restored or rebuilt: revisions go backwards', () => {
  it.each(RESETS.map((r) => [r.name, r] as const))(
    'SRC-01 %s: detected, resynced, every later write applies, never ready while deaf',
    async (_name, reset) => {
      const etcd = await cluster();
      const proxy = await proxyTo(etcd);
      // The snapshot holds `snap` at a low revision; 20 more writes push the source's revision up.
      await put(etcd.endpoint, doc('snap'));
      const snapshot = join(work, `snap-${Math.random().toString(36).slice(2)}.db`);
      await etcd.snapshot(snapshot);
      const store = createConfigStore({ initial: doc('embedded') });
      const source = running(proxy.endpoint, store);
      await source.start(store);
      expect(ruleOf(store)).toBe('snap');
      for (let i = 0; i < 20; i++) await put(etcd.endpoint, doc(`pre-${i}`));
      await waitFor(() => ruleOf(store) === 'pre-19', APPLY_MS, 'pre writes');
      const dog = deafWatchdog(source, store);
      cleanups.push(() => dog.stop());

      const { inForce, writeTo = etcd } = await reset.run({ etcd, proxy, snapshot });
      if (inForce !== undefined) {
        dog.wrote(inForce);
        await waitFor(() => ruleOf(store) === inForce, APPLY_MS, `resync to ${inForce}`);
      } else {
        // Key absent after a rebuild: the LKG stays, and the source does not claim `ready`.
        await waitFor(() => source.status().lastError === 'key absent', APPLY_MS, 'absent seen');
        expect(ruleOf(store)).toBe('pre-19');
      }
      for (let i = 0; i < 4; i++) {
        const id = `post-${i}`;
        dog.wrote(id);
        await put(writeTo.endpoint, doc(id, i % 2 ? 'beta' : 'stable'));
        await waitFor(() => ruleOf(store) === id, APPLY_MS, `write ${id} after the reset`);
        expect(source.status().state).toBe('ready');
      }
      await sleep(200);
      expect(dog.violations).toEqual([]);
    },
    90_000,
  );
});

describe.skipIf(!binary)('SRC-03 etcd revision guard per source instance and epoch', () => {
  it('SRC-03 a re-created source with the same (default) name, same store, after a rebuild: its writes apply', async () => {
    const etcd = await cluster();
    const store = createConfigStore({ initial: doc('embedded') });
    const first = running(etcd.endpoint, store);
    await first.start(store);
    for (let i = 0; i < 15; i++) await put(etcd.endpoint, doc(`old-${i}`));
    await waitFor(() => ruleOf(store) === 'old-14', APPLY_MS, 'old writes');
    await first.stop();
    await etcd.rebuild();
    await put(etcd.endpoint, doc('new-0'));
    const second = running(etcd.endpoint, store);
    await second.start(store);
    expect(ruleOf(store)).toBe('new-0');
    expect(second.status().state).toBe('ready');
    await put(etcd.endpoint, doc('new-1'));
    await waitFor(() => ruleOf(store) === 'new-1', APPLY_MS, 'watch after re-creation');
  }, 60_000);

  it.each([
    ['both default-named', undefined, undefined],
    ['both named "rules"', 'rules', 'rules'],
  ] as const)(
    'SRC-03 two sources on two clusters feeding one store (%s): the lower-revision cluster is never dropped as stale',
    async (_name, nameA, nameB) => {
      const high = await cluster();
      const low = await cluster();
      for (let i = 0; i < 25; i++) await put(high.endpoint, doc(`high-${i}`));
      const store = createConfigStore({ initial: doc('embedded') });
      const a = running(high.endpoint, store, nameA);
      const b = running(low.endpoint, store, nameB);
      await a.start(store);
      expect(ruleOf(store)).toBe('high-24');
      await b.start(store);
      for (const [endpoint, id] of [
        [low.endpoint, 'low-0'],
        [high.endpoint, 'high-25'],
        [low.endpoint, 'low-1'],
        [low.endpoint, 'low-2'],
        [high.endpoint, 'high-26'],
      ] as const) {
        await put(endpoint, doc(id));
        await waitFor(() => ruleOf(store) === id, APPLY_MS, `${id} applied`);
      }
      expect([a.status().state, b.status().state]).toEqual(['ready', 'ready']);
    },
    60_000,
  );

  it('SRC-01 a deleted key on a rebuilt cluster keeps the LKG and reports it; a rejected value is not ready', async () => {
    const etcd = await cluster();
    const store = createConfigStore({ initial: doc('embedded') });
    const source = running(etcd.endpoint, store);
    for (let i = 0; i < 5; i++) await put(etcd.endpoint, doc(`v-${i}`));
    await source.start(store);
    expect(ruleOf(store)).toBe('v-4');
    await etcd.rebuild();
    await put(etcd.endpoint, '{"versions": ["stable"'); // truncated JSON at a lower revision
    await waitFor(() => /expected/.test(source.status().lastError ?? ''), APPLY_MS, 'rejection');
    expect(source.status().state).not.toBe('ready');
    expect(ruleOf(store)).toBe('v-4');
    await del(etcd.endpoint);
    await put(etcd.endpoint, doc('good-again'));
    await waitFor(() => ruleOf(store) === 'good-again', APPLY_MS, 'good value');
    expect(source.status().state).toBe('ready');
  }, 60_000);

  it('SRC-03 an etcd source and a file source both named "rules" feeding one store: neither is dropped as stale', async () => {
    const etcd = await cluster();
    for (let i = 0; i < 30; i++) await put(etcd.endpoint, doc(`etcd-${i}`)); // etcd revision ≈ 31
    const path = join(work, `rules-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, doc('file-0'));
    const store = createConfigStore({ initial: doc('embedded') });
    const fromEtcd = running(etcd.endpoint, store, 'rules');
    await fromEtcd.start(store);
    expect(ruleOf(store)).toBe('etcd-29');
    const fromFile = createFileSource({ path, name: 'rules', logger: quiet });
    cleanups.push(() => fromFile.stop());
    await fromFile.start(store); // its first read would be "revision 1" < 31 under a name-keyed guard
    expect(ruleOf(store)).toBe('file-0');
    await put(etcd.endpoint, doc('etcd-30'));
    await waitFor(() => ruleOf(store) === 'etcd-30', APPLY_MS, 'etcd after file');
    await sleep(150);
    writeFileSync(path, doc('file-1'));
    await waitFor(() => ruleOf(store) === 'file-1', APPLY_MS, 'file after etcd');
  }, 60_000);
});

describe.skipIf(!binary)('SRC-04 etcd: the backup reflects what is in force', () => {
  it('SRC-04 the etcd key holds the embedded default (no change in the store): a later cold start with etcd down serves it, not an older backup', async () => {
    const etcd = await cluster();
    const backup = join(work, `backup-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(backup, doc('rolled-back')); // left by an earlier run
    await put(etcd.endpoint, ` ${doc('embedded')} `); // the rollback, re-formatted
    const store = createConfigStore({ initial: doc('embedded') });
    const handle = startSources(store, [running(etcd.endpoint, store)], {
      backup: { path: backup },
      meter: false,
      logger: quiet,
    });
    expect((await handle.ready).state).toBe('ready');
    expect(store.get().version).toBe(1);
    await handle.stop();
    await etcd.stop();

    const cold = createConfigStore({ initial: doc('embedded') });
    const down = createHttpSource({
      url: 'http://127.0.0.1:9/down',
      logger: quiet,
      backoff: { initialMs: 60_000 },
    });
    const again = startSources(cold, [running(etcd.endpoint, cold), down], {
      backup: { path: backup },
      meter: false,
      logger: quiet,
      startTimeoutMs: 3_000,
    });
    expect((await again.ready).state).toBe('degraded');
    await again.stop();
    expect(ruleOf(cold)).toBe('embedded');
  }, 60_000);
});
