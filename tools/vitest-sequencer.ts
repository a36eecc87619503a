import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest file first, by the durations of a recorded run (`tools/test-durations.json`, written by
 * the summary reporter when `GRAYLANE_DURATIONS_FILE` is set).
 *
 * vitest orders a run it has no cache for by file size. In a clean checkout (CI) that started
 * the broker suites — short files that wait minutes on RabbitMQ, NATS and Redis — last, and the
 * run ended with three workers on three of them: about a minute of the Node 20 run. Longest
 * first is the classic bound for this (LPT scheduling). A file not in the table (new since it
 * was recorded) is placed by its size as if it took a second per 4 kB, which is roughly what the
 * table's files do; vitest's own cache, when there is one, is not consulted: the table is the
 * same on every machine, so CI orders files the same way each run.
 */
const table = loadTable();

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cost = new Map<TestSpecification, number>();
    for (const file of files)
      cost.set(file, estimate(relative(root, file.moduleId), file.moduleId));
    return [...files].sort(
      (a, b) => cost.get(b)! - cost.get(a)! || compare(a.moduleId, b.moduleId),
    );
  }
}

function estimate(key: string, path: string): number {
  const recorded = table[key.split('\\').join('/')];
  if (recorded !== undefined) return recorded;
  try {
    return (statSync(path).size / 4096) * 1000;
  } catch {
    return 0;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function loadTable(): Record<string, number> {
  try {
    const parsed: unknown = JSON.parse(
      readFileSync(new URL('./test-durations.json', import.meta.url), 'utf8'),
    );
    if (parsed === null || typeof parsed !== 'object') return {};
    const out: Record<string, number> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    }
    return out;
  } catch {
    return {};
  }
}
