import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileSource } from '../../src/sources/index.js';
import {
  bigDoc,
  doc,
  quietLogger,
  recordingStore,
  sleep,
  startedFile,
  tempDir,
  waitFor,
  type Cleanups,
} from './helpers.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const started = (path: string, extra: Partial<Parameters<typeof createFileSource>[0]> = {}) =>
  startedFile(cleanups, path, extra);

describe('file source', () => {
  it('FLT-09 editor atomic save (write tmp + rename) is picked up exactly once', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('stable'));
    const { store, changes, source } = await started(path);
    expect(source.status().state).toBe('ready');
    writeFileSync(join(dir, '.rules.json.swp'), doc('beta'));
    renameSync(join(dir, '.rules.json.swp'), path);
    await waitFor(() => store.get().config.default === 'beta', 2_000, 'atomic save');
    await sleep(300);
    expect(changes()).toBe(1);
  });

  it('CFG-01 CFG-02 truncated, 0-byte and whitespace-only files keep the LKG, then a good write applies', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('beta'));
    const { store, events, source } = await started(path);
    for (const bad of [doc('stable').slice(0, 17), '', '   \n']) {
      const before = events.length;
      writeFileSync(path, bad);
      await waitFor(() => events.length > before, 2_000, 'rejection');
      expect(events.at(-1)?.type).toBe('rejected');
      expect(store.get().config.default).toBe('beta');
      expect(source.status().state).toBe('stale');
    }
    writeFileSync(path, doc('stable'));
    await waitFor(() => store.get().config.default === 'stable', 2_000, 'good write');
    expect(source.status().state).toBe('ready');
  });

  it('FLT-10 chunked write (16 KiB every 50 ms) never swaps to a partial file; the final state applies', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('stable'));
    const { store, changes } = await started(path);
    const text = Buffer.from(bigDoc('beta', 900));
    expect(text.length).toBeGreaterThan(8 * 16 * 1024);
    const handle = await open(path, 'w');
    for (let at = 0; at < text.length; at += 16 * 1024) {
      await handle.write(text.subarray(at, at + 16 * 1024));
      await sleep(50);
    }
    await handle.close();
    await waitFor(() => store.get().config.default === 'beta', 3_000, 'final state');
    expect(store.get().config.rules).toHaveLength(900);
    expect(changes()).toBe(1); // the only swap is to the complete file
  });

  it('FLT-11 Kubernetes ConfigMap layout (..data symlink swap) reloads within 2 s', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    mkdirSync(join(dir, '..2026_01_01_00_00_00.1'));
    writeFileSync(join(dir, '..2026_01_01_00_00_00.1', 'rules.json'), doc('stable'));
    symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
    symlinkSync('..data/rules.json', join(dir, 'rules.json'));
    const { store, source } = await started(join(dir, 'rules.json'));
    expect(source.status().state).toBe('ready');

    // What kubelet's AtomicWriter does: new timestamped dir, new ..data_tmp link, rename over ..data.
    mkdirSync(join(dir, '..2026_01_01_00_01_00.2'));
    writeFileSync(join(dir, '..2026_01_01_00_01_00.2', 'rules.json'), doc('beta'));
    symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
    const t0 = performance.now();
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
    await waitFor(() => store.get().config.default === 'beta', 2_000, 'configmap swap');
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('FLT-12 file deleted, recreated 3 s later: LKG during the gap, reload on recreate, watcher keeps working', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('beta'));
    const { store, source } = await started(path);
    rmSync(path);
    await waitFor(() => source.status().state === 'stale', 2_000, 'missing noticed');
    await sleep(3_000);
    expect(store.get().config.default).toBe('beta');
    writeFileSync(path, doc('stable'));
    await waitFor(() => store.get().config.default === 'stable', 2_000, 'recreate');
    writeFileSync(path, doc('beta'));
    await waitFor(() => store.get().config.default === 'beta', 2_000, 'later edit');
    expect(source.status().state).toBe('ready');
  });

  it('FLT-15 reload storm (1,000 writes): debounced to ≤ 1 apply per 100 ms, last write wins, heap stable', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('stable'));
    const { store, changes } = await started(path);
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) {
      writeFileSync(
        path,
        doc(i % 2 ? 'beta' : 'stable', { rules: [{ id: `r${i}`, version: 'beta' }] }),
      );
      if (i % 10 === 0) await sleep(2);
    }
    const elapsed = performance.now() - t0;
    await waitFor(() => store.get().config.rules[0]?.id === 'r999', 3_000, 'last write');
    await sleep(300);
    expect(changes()).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
    global.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(5 * 1024 * 1024);
  });

  it('polls by content hash when asked (filesystems without events) and ignores unchanged content', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('stable'));
    const { store, changes } = await started(path, { pollIntervalMs: 50, debounceMs: 10 });
    writeFileSync(path, doc('beta'));
    await waitFor(() => store.get().config.default === 'beta', 2_000, 'poll');
    await sleep(300);
    expect(changes()).toBe(1);
  });

  it('FLT-16 a store that throws in the reload path: caught, LKG kept, no unhandled rejection', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('beta'));
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => void process.off('unhandledRejection', onUnhandled));
    const { store } = recordingStore();
    const broken = {
      ...store,
      update: () => {
        throw new Error('injected validator bug');
      },
    };
    const source = createFileSource({ path, logger: quietLogger() });
    cleanups.push(() => source.stop());
    await source.start(broken);
    writeFileSync(path, doc('stable'));
    await sleep(300);
    expect(source.status().lastError).toMatch(/injected validator bug/);
    expect(store.get().source).toBe('embedded');
    expect(unhandled).toHaveLength(0);
  });
});
