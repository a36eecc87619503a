import { createServer, type Server, type Socket } from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdSource, type EtcdClientLike, type EtcdWatchBuilderLike } from '../src/index.js';
import { ETCD_SKIP_MESSAGE, findEtcdBinary, startEtcd, type EtcdProcess } from './harness.js';
import { doc, quietLogger, recordingStore, waitFor } from './helpers.js';

/**
 * Watch creations that miss their deadline (a slow or hung member), against a real etcd:
 * a late watcher is cancelled instead of staying registered (one more per retry), and a source
 * that owns its client rebuilds it so a member that accepts TCP and never answers cannot hold
 * the watch stream forever (SRC-01: never `ready` while deaf, never stuck out of `ready`).
 */
const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

const KEY = '/graylane/config';
const FAST = { initialMs: 100, maxMs: 100, jitter: 0 };

/** etcd3 internals: the watchers its single watch manager holds. */
const liveWatchers = (client: Etcd3): number =>
  (client as unknown as { watchManager: { watchers: unknown[] } }).watchManager.watchers.length;

/** A real client whose first `slow` watch creations start only after `delayMs` (a slow member). */
function slowWatchClient(real: Etcd3, slow: number, delayMs: number): EtcdClientLike {
  let left = slow;
  return {
    get: (k) => real.get(k),
    close: () => undefined,
    watch() {
      const b = real.watch();
      const w: EtcdWatchBuilderLike = {
        key: (k) => (b.key(k), w),
        startRevision: (r) => (b.startRevision(r), w),
        create: () =>
          left-- > 0
            ? new Promise((r) => setTimeout(r, delayMs)).then(() => b.create())
            : b.create(),
      };
      return w;
    },
  };
}

describe.skipIf(!binary)('etcd watch creation past its deadline (real etcd)', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  const cleanups: (() => Promise<void> | void)[] = [];
  const serverWatchers = async (): Promise<number> => {
    const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
    return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? NaN);
  };

  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
    await admin.put(KEY).value(doc('beta'));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });

  it.each([1, 3, 5])(
    'SRC-01 %i late watch creation(s): every late watcher is cancelled; one live watcher, none after stop',
    async (slow) => {
      const real = new Etcd3({ hosts: etcd.endpoint });
      cleanups.push(() => real.close());
      const source = createEtcdSource({
        key: KEY,
        client: slowWatchClient(real, slow, 600),
        requestTimeoutMs: 300,
        backoff: FAST,
        logger: quietLogger(),
      });
      cleanups.push(() => source.stop());
      const { store } = recordingStore();
      await source.start(store);
      await waitFor(() => source.status().state === 'ready', 15_000, 'ready');
      // Every delayed creation has landed (600 ms after its attempt) and been cancelled.
      await new Promise((r) => setTimeout(r, 1_200));
      await waitFor(() => liveWatchers(real) === 1, 3_000, 'one etcd3 watcher');
      expect(await serverWatchers()).toBe(1);
      await source.stop();
      await waitFor(() => liveWatchers(real) === 0, 3_000, 'no etcd3 watcher after stop');
      expect(await serverWatchers()).toBe(0);
    },
    30_000,
  );

  /**
   * Liveness bound only: etcd3 shuffles hosts at random per client, so the old code also passed
   * these runs often (the reviewer saw 1 stuck run in 3 with a passed-in client). It guards
   * against the rebuild making things worse; it does not prove the rebuild on its own.
   */
  describe('a member that accepts TCP and never answers', () => {
    let hung: Server;
    let hungPort = 0;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      hung = createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
      hungPort = (hung.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
    });

    it.each([1, 2, 3, 4])(
      'SRC-01 run %i: hosts [hung, healthy] with an owned client reach ready within 30 s',
      async () => {
        const source = createEtcdSource({
          key: KEY,
          hosts: [`http://127.0.0.1:${hungPort}`, etcd.endpoint],
          requestTimeoutMs: 500,
          backoff: FAST,
          logger: quietLogger(),
        });
        cleanups.push(() => source.stop());
        const { store } = recordingStore();
        void source.start(store);
        await waitFor(() => source.status().state === 'ready', 30_000, 'ready');
        expect(store.get().config.default).toBe('beta');
      },
      45_000,
    );
  });
});
