import { createConfigStore, decide, type GrayConfig, type GrayRequest } from '@graylane/core';
import { instantOption } from './instant.js';
import { paint } from './io.js';
import { INPUT_LIMITS, readInput } from './input/read.js';
import type { Run } from './input/run.js';
import { printable } from './text.js';

/** What changes between two valid configs. */
export interface Comparison {
  readonly changed: boolean;
  readonly changedRuleIds: readonly string[];
  readonly settingsChanged: boolean;
}

/** What `diff` and `push` print when the store would see no change. */
const NO_CHANGE =
  'no change: the two configs mean the same (formatting, key order, spelled-out defaults and header-name case do not count)';

/** Sampled impact: how many requests of a sample would get another version. */
export interface Impact {
  readonly total: number;
  readonly changed: number;
  /** `"stable → beta": 142`, keyed by move. */
  readonly moves: Readonly<Record<string, number>>;
  readonly skipped: number;
}

/**
 * Compares as the store does: in normal form, so key order, whitespace, spelled-out defaults and
 * header-name case do not count, and every change names its rules (moved ones too) or settings.
 */
export function compareConfigs(before: GrayConfig, after: GrayConfig): Comparison {
  const result = createConfigStore({ initial: before }).update(after);
  return {
    changed: result.status === 'changed',
    changedRuleIds: result.status === 'changed' ? result.changedRuleIds : [],
    settingsChanged: settingChanges(before, after).length > 0,
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
  if (!cmp.changed) run.out(NO_CHANGE);
  else {
    // The store names every change: its rules (added, removed, modified, moved) or settings.
    if (cmp.changedRuleIds.length)
      run.out(`changed rules: ${printable(cmp.changedRuleIds.join(', '))}`);
    const settings = settingChanges(before, after);
    if (settings.length) run.out(`settings changed: ${printable(settings.join(', '))}`);
  }
  if (impact) {
    const share = ((100 * impact.changed) / Math.max(1, impact.total)).toFixed(1);
    run.out(`sample: ${impact.total} requests, ${impact.changed} would change version (${share}%)`);
    for (const [move, n] of Object.entries(impact.moves)) run.out(`  ${printable(move)}: ${n}`);
    if (impact.skipped)
      run.out(paint(run, 'dim', `  (${impact.skipped} unreadable lines skipped)`));
  }
}

/** `--now` / `--at` as epoch ms (default: now), or a usage error: the one instant format of every command. */
export function parseNow(text: string | undefined, flag: string): number {
  return instantOption(text, flag);
}

/** The document-level settings that differ, as `name old → new`. */
function settingChanges(before: GrayConfig, after: GrayConfig): string[] {
  const out: string[] = [];
  const versions = [before.versions.join(','), after.versions.join(',')];
  if (versions[0] !== versions[1]) out.push(`versions ${versions[0]} → ${versions[1]}`);
  if (before.default !== after.default) out.push(`default ${before.default} → ${after.default}`);
  if (before.caseInsensitive !== after.caseInsensitive)
    out.push(`caseInsensitive ${before.caseInsensitive} → ${after.caseInsensitive}`);
  return out;
}
