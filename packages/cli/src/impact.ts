import {
  createConfigStore,
  decide,
  shareAt,
  type CompiledArm,
  type CompiledRule,
  type GrayConfig,
  type GrayRequest,
} from '@graylane/core';
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
  /** Changed splits that move subjects no share change asks to move (at `--at`/`--now`). */
  readonly bucketShifts: readonly BucketShift[];
}

/**
 * A split rule, in both configs, whose change moves subjects between versions beyond what its
 * new shares ask for (review 75 N3): an arm between two others that keeps or gains weight while
 * its bucket range moves loses the subjects it had (`a 10%, b 10%, c 80%` → `a 20%, b 10%, c
 * 70%`: every `b` subject leaves it), or every subject is bucketed again (`bucketBy`, `salt` or
 * `bucketVersion` changed). Shares are in basis points of all subjects the rule buckets.
 */
export interface BucketShift {
  readonly ruleId: string;
  /** The split this one replaces under another id (a rename), when it is one. */
  readonly renamedFrom?: string;
  /** That split's salt in use (with `/v<n>` for its `bucketVersion`): what keeps assignments. */
  readonly keepSalt?: string;
  /**
   * Buckets drawn again: `salt` (`salt` or `bucketVersion` changed) for every subject,
   * `bucketBy` for each subject now read from another field than before.
   */
  readonly rebucketed: 'salt' | 'bucketBy' | false;
  /**
   * Basis points of the rule's subjects that change version; when rebucketed, the expected share
   * of the subjects bucketed again.
   */
  readonly moving: number;
  /** Versions that lose subjects they could keep: share before and after, and leaving. */
  readonly versions: ReadonlyArray<{
    readonly version: string;
    readonly before: number;
    readonly after: number;
    readonly leaving: number;
  }>;
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
export function compareConfigs(before: GrayConfig, after: GrayConfig, now: number): Comparison {
  const result = createConfigStore({ initial: before }).update(after);
  const changedRuleIds = result.status === 'changed' ? result.changedRuleIds : [];
  return {
    changed: result.status === 'changed',
    changedRuleIds,
    settingsChanged: settingChanges(before, after).length > 0,
    bucketShifts: bucketShifts(before, after, changedRuleIds, now),
  };
}

type SplitRule = Extract<CompiledRule, { kind: 'split' }>;

/** The changed splits that move subjects their new shares do not ask to move. */
function bucketShifts(
  before: GrayConfig,
  after: GrayConfig,
  ids: readonly string[],
  now: number,
): BucketShift[] {
  const splits = (config: GrayConfig) =>
    new Map(
      config.rules.filter((r): r is SplitRule => r.kind === 'split').map((r) => [r.id, r] as const),
    );
  const [old, next] = [splits(before), splits(after)];
  const pairs: (readonly [SplitRule, SplitRule])[] = [];
  for (const id of ids) {
    const a = old.get(id);
    const b = next.get(id);
    if (a && b) pairs.push([a, b]);
  }
  // A split that went and one that came, the only two with these versions in this order: a
  // rename. The salt is the rule id unless set, so a rename buckets everyone again (review 78
  // D3). Where more than one went or came with the same versions, which is which cannot be told:
  // no pairing, no advice (review 79 D2).
  const gone = ids.flatMap((id) => (old.has(id) && !next.has(id) ? [old.get(id)!] : []));
  const came = ids.flatMap((id) => (next.has(id) && !old.has(id) ? [next.get(id)!] : []));
  const arms = (r: SplitRule) => r.arms.map((arm) => arm.version).join();
  for (const b of came) {
    const from = gone.filter((a) => arms(a) === arms(b));
    if (from.length === 1 && came.filter((c) => arms(c) === arms(b)).length === 1)
      pairs.push([from[0]!, b]);
  }
  const out: BucketShift[] = [];
  for (const [a, b] of pairs) {
    const id = b.id;
    const renamedFrom = a.id === b.id ? undefined : { renamedFrom: a.id, keepSalt: a.salt };
    const [from, to] = [shareAt(a, now).arms, shareAt(b, now).arms];
    const [sa, sb] = [shares(from), shares(to)];
    const rebucketed =
      a.salt !== b.salt
        ? 'salt'
        : JSON.stringify(a.bucketChain) !== JSON.stringify(b.bucketChain)
          ? 'bucketBy'
          : false;
    if (rebucketed) {
      // Independent draws: a subject keeps its version with probability Σ share_before·share_after.
      let keep = 0;
      for (const [v, n] of sa) keep += (n * (sb.get(v) ?? 0)) / 10_000;
      out.push({
        ruleId: id,
        ...renamedFrom,
        rebucketed,
        moving: Math.round(10_000 - keep),
        versions: [],
      });
      continue;
    }
    // The same buckets: walk the two layouts' boundaries and count what stays.
    const kept = new Map<string, number>();
    let moving = 0;
    const ends = [...new Set([...from, ...to].map((arm) => arm.end))].sort((x, y) => x - y);
    let start = 0;
    for (const end of ends) {
      if (end <= start) continue;
      const [u, w] = [versionAt(from, start), versionAt(to, start)];
      if (u === w) kept.set(u, (kept.get(u) ?? 0) + end - start);
      else moving += end - start;
      start = end;
    }
    const versions = [...sa]
      .map(([version, n]) => {
        const m = sb.get(version) ?? 0;
        // Leaving beyond what a smaller share needs.
        return { version, before: n, after: m, leaving: n - (kept.get(version) ?? 0) };
      })
      .filter((v) => v.before - v.leaving < Math.min(v.before, v.after));
    if (versions.length)
      out.push({ ruleId: id, ...renamedFrom, rebucketed: false, moving, versions });
  }
  return out;
}

/** Each version's share of the 10,000 buckets. */
function shares(arms: readonly CompiledArm[]): Map<string, number> {
  const out = new Map<string, number>();
  let start = 0;
  for (const arm of arms) {
    out.set(arm.version, (out.get(arm.version) ?? 0) + arm.end - start);
    start = Math.max(start, arm.end);
  }
  return out;
}

/** The version owning bucket `b` (the arm whose range holds it). */
function versionAt(arms: readonly CompiledArm[], b: number): string {
  return arms.find((arm) => b < arm.end)?.version ?? arms[arms.length - 1]?.version ?? '';
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
    for (const shift of cmp.bucketShifts) run.out(paint(run, 'yellow', shiftLine(shift)));
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

const pct = (basisPoints: number) => `${Number((basisPoints / 100).toFixed(2))}%`;

/** One warning line for a split change that moves subjects its shares do not ask to move. */
function shiftLine(shift: BucketShift): string {
  const rule = `warning: rule ${printable(shift.ruleId)}${shift.renamedFrom === undefined ? '' : ` (was ${printable(shift.renamedFrom)})`}`;
  if (shift.rebucketed === 'salt' && shift.keepSalt !== undefined) {
    // `<salt>/v<n>` is the salt `<salt>` at `bucketVersion` n (any salt ending so hashes alike).
    const [, salt = shift.keepSalt, version] = /^(.*)\/v(\d+)$/.exec(shift.keepSalt) ?? [];
    const keep = `"salt": ${JSON.stringify(salt)}${version ? `, "bucketVersion": ${version}` : ''}`;
    return `${rule}: its salt differs (the salt is the rule id unless set), so every subject is bucketed again, about ${pct(shift.moving)} change version; to keep them, set ${printable(keep)}`;
  }
  if (shift.rebucketed === 'salt')
    return `${rule}: salt or bucketVersion changed — every subject is bucketed again, about ${pct(shift.moving)} change version`;
  if (shift.rebucketed === 'bucketBy')
    return `${rule}: bucketBy changed — a subject now read from another field than before is bucketed again (about ${pct(shift.moving)} of those change version)`;
  const each = shift.versions.map(
    (v) =>
      `${printable(v.version)} ${pct(v.before)} → ${pct(v.after)} yet ${pct(v.leaving)} of all subjects leave it`,
  );
  return `${rule}: its buckets move — ${each.join('; ')} (${pct(shift.moving)} change version): an arm keeps its subjects only while the arms before it keep their total share — put the version that grows next to the one it takes from`;
}
