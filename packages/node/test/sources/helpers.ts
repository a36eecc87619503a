import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigStore, type ConfigEvent, type ConfigStore } from '@graylane/core';
import { createFileSource } from '../../src/sources/index.js';

/** A valid config whose default is `version`, plus extra fields. */
export function doc(version: 'stable' | 'beta', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ versions: ['stable', 'beta'], default: version, ...extra });
}

/** A store on the embedded default, recording its events. */
export function recordingStore(): {
  store: ConfigStore;
  events: ConfigEvent[];
  changes: () => number;
} {
  const store = createConfigStore({ initial: doc('stable') });
  const events: ConfigEvent[] = [];
  store.subscribe((e) => events.push(e));
  return { store, events, changes: () => events.filter((e) => e.type === 'change').length };
}

/** A logger that records instead of printing. */
export function quietLogger(): {
  warn: (m: string) => void;
  error: (m: string) => void;
  lines: string[];
} {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-src-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls until `check()` holds or throws after `ms`. */
export async function waitFor(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A config with `n` rules (to make a large file). */
export function bigDoc(version: 'stable' | 'beta', n: number): string {
  const rules = Array.from({ length: n }, (_, i) => ({
    id: `rule-${i}`,
    description: 'x'.repeat(100),
    match: { header: { 'x-user': { equals: `user-${i}` } } },
    version: 'beta',
  }));
  return doc(version, { rules });
}

/**
 * Two weighted rules around a pad rule (`pad` characters): documents made with the same `pad` have
 * the same length, and every old/new mix of two of them is valid JSON (FLT-10's torn writes).
 */
export function paddedRules(w1: number, w2: number, pad: number): string {
  return JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      weighted('a', w1),
      { id: 'pad', match: { header: { 'x-pad': { equals: 'p'.repeat(pad) } } }, version: 'stable' },
      weighted('b', w2),
    ],
  });
}

const weighted = (id: string, w: number) => ({
  id,
  match: { header: { [`x-${id}`]: { exists: true } } },
  split: [
    { version: 'beta', weight: w },
    { version: 'stable', weight: 100 - w },
  ],
  bucketBy: `header:x-${id}`,
});

/** A change event as its rules' beta weights (`a=10 b=90`); any other event as its type. */
export const weights = (e: ConfigEvent): string =>
  e.type === 'change'
    ? (e.snapshot.config.document.rules ?? [])
        .flatMap((r) => ('split' in r && r.split ? [`${r.id}=${r.split[0]?.weight}`] : []))
        .join(' ')
    : e.type;

/** What a test file runs after each test (in reverse order). */
export type Cleanups = (() => Promise<void> | void)[];

/** `rules.json` holding `content` in a fresh temp dir, removed by `cleanups`. */
export function tempRules(cleanups: Cleanups, content = doc('stable')): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'rules.json');
  writeFileSync(path, content);
  return path;
}

/**
 * A file source on `path` with a recording store and logger, stopped by `cleanups`; started
 * unless `start` is false (then `started` is the pending `start()`).
 */
export async function startedFile(
  cleanups: Cleanups,
  path: string,
  extra: Partial<Parameters<typeof createFileSource>[0]> = {},
  start = true,
): Promise<
  ReturnType<typeof recordingStore> & {
    source: ReturnType<typeof createFileSource>;
    logger: ReturnType<typeof quietLogger>;
    started: Promise<void>;
  }
> {
  const rec = recordingStore();
  const logger = quietLogger();
  const source = createFileSource({ path, logger, ...extra });
  cleanups.push(() => source.stop());
  const started = source.start(rec.store);
  if (start) await started;
  return { ...rec, source, logger, started };
}
