/**
 * AST-26 (review 146 D1): each file version's digest is read once while the files in use fit the
 * cache. The cache dropped the *first inserted* version when full, however often it was asked, so
 * a site with more hashed files than the cap (2,048 per lane with two lanes) read and hashed both
 * copies on every request. Real files; the reads of each handle are counted.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Digests } from '../../src/assets/copies.js';
import { MAX_DIGESTS } from '../../src/assets/limits.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-digests-'));
  for (let i = 0; i < 12; i++) writeFileSync(join(dir, `f${i}.js`), `file ${i} `.repeat(100 + i));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Digests file `i` through `digests`, counting the reads its handle makes. */
async function digestOf(digests: Digests, i: number, reads: number[]): Promise<string | undefined> {
  const handle: FileHandle = await open(join(dir, `f${i}.js`));
  const read = handle.read.bind(handle);
  (handle as { read: unknown }).read = (...args: Parameters<FileHandle['read']>) => {
    reads[i] = (reads[i] ?? 0) + 1;
    return read(...args);
  };
  try {
    return await digests.of(handle, await handle.stat());
  } finally {
    await handle.close();
  }
}

/** Access patterns over 12 files, with a cache of 4 versions. */
const PATTERNS: [string, number[]][] = [
  // A hot file asked between every cold one: it must never be read twice.
  ['one hot file among a stream of cold ones', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0]],
  ['two hot files among cold ones', [0, 1, 2, 0, 1, 3, 0, 1, 4, 0, 1, 5, 0, 1, 6, 0, 1, 7]],
  [
    'a working set of four, round robin (control: fits)',
    [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0],
  ],
  ['a file asked again right after its first read (control)', [0, 1, 2, 3, 4, 4, 0, 4, 0, 4]],
];

describe('AST-26 digests: each version read once while the files in use fit', () => {
  it.each(PATTERNS)('%s', async (_name, order) => {
    const digests = new Digests(4);
    const reads: number[] = [];
    const seen = new Map<number, string | undefined>();
    for (const i of order) {
      const d = await digestOf(digests, i, reads);
      expect(d).toMatch(/^\d+:[\w-]{43}$/);
      if (seen.has(i)) expect(d).toBe(seen.get(i));
      seen.set(i, d);
    }
    // The files asked at least twice within any window of four distinct files were read once.
    const hot = [...new Set(order)].filter((i) => {
      const at = order.flatMap((x, k) => (x === i ? [k] : []));
      return (
        at.length > 1 && at.every((k, n) => n === 0 || new Set(order.slice(at[n - 1], k)).size <= 4)
      );
    });
    expect(hot.length).toBeGreaterThan(0);
    for (const i of hot) expect(reads[i], `file ${i} read once`).toBe(1);
  });

  it('a version over the cap is read again when asked after others pushed it out (control)', async () => {
    const digests = new Digests(2);
    const reads: number[] = [];
    for (const i of [0, 1, 2, 3, 0]) await digestOf(digests, i, reads);
    expect(reads[0]).toBe(2);
  });

  it('a changed file is a new version: read again, its new digest differs', async () => {
    const digests = new Digests(4);
    const reads: number[] = [];
    const before = await digestOf(digests, 11, reads);
    const path = join(dir, 'f11.js');
    const { mtimeMs } = statSync(path);
    writeFileSync(path, 'changed '.repeat(200));
    expect(statSync(path).mtimeMs >= mtimeMs).toBe(true);
    const after = await digestOf(digests, 11, reads);
    expect(after).not.toBe(before);
    expect(reads[11]).toBeGreaterThanOrEqual(2);
  });

  it('the default cap holds 16,384 hashed files in each of two lanes', () => {
    expect(MAX_DIGESTS).toBeGreaterThanOrEqual(2 * 16_384);
  });
});
