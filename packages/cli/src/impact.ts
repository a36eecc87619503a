import { createConfigStore, decide, type GrayConfig, type GrayRequest } from '@graylane/core';
import { instantOption } from './instant.js';
import { paint } from './io.js';
import { INPUT_LIMITS, readInput } from './input/read.js';
import type { Run } from './input/run.js';

/** What changes between two valid configs. */
export interface Comparison {
  readonly changed: boolean;
  readonly changedRuleIds: readonly string[];
  readonly settingsChanged: boolean;
}

/** Sampled impact: how many requests of a sample would get another version. */
export interface Impact {
  readonly total: number;
  readonly changed: number;
  /** `"stable → beta": 142`, keyed by move. */
  readonly moves: Readonly<Record<string, number>>;
  readonly skipped: number;
}

/** Compares by canonical form (key order and whitespace do not count), as the store does. */
export function compareConfigs(before: GrayConfig, after: GrayConfig): Comparison {
  const result = createConfigStore({ initial: before }).update(after);
  return {
    changed: result.status === 'changed',
    changedRuleIds: result.status === 'changed' ? result.changedRuleIds : [],
    settingsChanged:
      before.default !== after.default ||
      before.versions.join() !== after.versions.join() ||
      before.caseInsensitive !== after.caseInsensitive,
  };
}

/** Replays a sample (one JSON request per line; `-` for stdin) through both configs. */
export async function sampleImpact(
  location: string,
  run: Run,
  before: GrayConfig,
  after: GrayConfig,
  now: number,
): Promise<Impact> {
  const { text } = await readInput(location, run, {
    what: 'sample',
    maxBytes: INPUT_LIMITS.sample,
  });
  const moves = Object.create(null) as Record<string, number>;
  let total = 0;
  let changed = 0;
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let request: GrayRequest;
    try {
      request = { ...(JSON.parse(line) as GrayRequest), now };
    } catch {
      skipped++;
      continue;
    }
    total++;
    const a = decide(before, request).version;
    const b = decide(after, request).version;
    if (a !== b) {
      changed++;
      moves[`${a} → ${b}`] = (moves[`${a} → ${b}`] ?? 0) + 1;
    }
  }
  return { total, changed, moves, skipped };
}

/** Prints a comparison (and an impact) the way `graylane diff` does. */
export function printComparison(
  run: Run,
  before: GrayConfig,
  after: GrayConfig,
  cmp: Comparison,
  impact: Impact | undefined,
): void {
  if (!cmp.changed)
    run.out('no change: the two configs are identical (ignoring key order and whitespace)');
  else {
    run.out(`changed rules: ${cmp.changedRuleIds.length ? cmp.changedRuleIds.join(', ') : 'none'}`);
    if (cmp.settingsChanged)
      run.out(
        `settings changed: versions ${before.versions.join(',')} → ${after.versions.join(',')}, default ${before.default} → ${after.default}`,
      );
  }
  if (impact) {
    const share = ((100 * impact.changed) / Math.max(1, impact.total)).toFixed(1);
    run.out(`sample: ${impact.total} requests, ${impact.changed} would change version (${share}%)`);
    for (const [move, n] of Object.entries(impact.moves)) run.out(`  ${move}: ${n}`);
    if (impact.skipped)
      run.out(paint(run, 'dim', `  (${impact.skipped} unreadable lines skipped)`));
  }
}

/** `--now` / `--at` as epoch ms (default: now), or a usage error: the one instant format of every command. */
export function parseNow(text: string | undefined, flag: string): number {
  return instantOption(text, flag);
}
