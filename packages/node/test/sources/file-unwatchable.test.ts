import type * as nodeFs from 'node:fs';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { doc, startedFile, tempRules, waitFor, type Cleanups } from './helpers.js';

// The directory watch fails as it does when the inotify limits are used up (ENOSPC: the
// per-user watch count; EMFILE: the instance count) or the filesystem cannot be watched.
const failure = vi.hoisted(() => ({ code: 'ENOSPC' as string | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof nodeFs>();
  return {
    ...fs,
    watch: (...args: Parameters<typeof fs.watch>) => {
      if (failure.code === undefined) return fs.watch(...args);
      throw Object.assign(new Error(`${failure.code}: watch failed`), { code: failure.code });
    },
  };
});

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Without its watch the source still sees changes, by its periodic check (`rearmMs`), but
// slower (500 ms instead of ~20), and it said nothing about it.
describe('FLT-11 a directory that cannot be watched: changes still apply, and the source says why they are slower, once', () => {
  it.each(['ENOSPC', 'EMFILE', 'EPERM', undefined])('watch failing with %s', async (code) => {
    failure.code = code;
    const path = tempRules(cleanups);
    const { source, logger, store } = await startedFile(cleanups, path, { rearmMs: 100 });
    for (const version of ['beta', 'stable', 'beta'] as const) {
      writeFileSync(path, doc(version) + ' '.repeat(version.length));
      await waitFor(() => store.get().config.default === version, 3_000, version);
    }
    const told = logger.lines.filter((l) => l.includes('cannot be watched'));
    if (code === undefined) expect(told).toEqual([]);
    else {
      expect(told).toHaveLength(1);
      expect(told[0]).toContain(code);
    }
    expect(source.status().state).toBe('ready');
  });
});
