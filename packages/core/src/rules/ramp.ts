import type { CompiledArm, CompiledRule } from '../config/types.js';

type SplitRule = Extract<CompiledRule, { kind: 'split' }>;

/** The split a rule applies at an instant, and which schedule step that is. */
export interface ShareInForce {
  readonly arms: readonly CompiledArm[];
  /** Index into `rule.schedule`, or -1 for the rule's own `split` (before the first step). */
  readonly step: number;
  /** True when `pausedAt` froze the schedule before `now`. */
  readonly paused: boolean;
}

/**
 * The arms in force for a split rule at `now` (epoch ms, server clock): steps are half-open
 * `[at, nextAt)`; a paused rule is read at `min(now, pausedAt)`. Pure and total.
 *
 * @example
 * ```ts
 * const rule = config.rules.find((r) => r.kind === 'split');
 * if (rule?.kind === 'split') shareAt(rule, Date.now()).arms; // [{ version: 'beta', end: 500 }, …]
 * ```
 */
export function shareAt(rule: SplitRule, now: number): ShareInForce {
  const { schedule, pausedAt } = rule;
  const paused = pausedAt !== undefined && pausedAt < now;
  const t = paused ? pausedAt : now;
  let step = -1;
  // Steps are few (≤ 64) and sorted: a linear scan from the end finds the last `at <= t`.
  for (let i = schedule.length - 1; i >= 0; i--) {
    if ((schedule[i]?.at ?? Infinity) <= t) {
      step = i;
      break;
    }
  }
  return { arms: step < 0 ? rule.arms : (schedule[step]?.arms ?? rule.arms), step, paused };
}

/**
 * The version owning a bucket (0–9999): the first arm whose cumulative end is above it.
 *
 * @example
 * ```ts
 * armFor([{ version: 'beta', end: 500 }, { version: 'stable', end: 10000 }], 499); // 'beta'
 * ```
 */
export function armFor(arms: readonly CompiledArm[], bucket: number): string {
  let version = '';
  for (const arm of arms) {
    version = arm.version;
    if (bucket < arm.end) break;
  }
  return version;
}

/**
 * The arms as shares, for explanations and the CLI.
 *
 * @example
 * ```ts
 * describeArms([{ version: 'beta', end: 500 }, { version: 'stable', end: 10000 }]); // 'beta 5%, stable 95%'
 * ```
 */
export function describeArms(arms: readonly CompiledArm[]): string {
  let start = 0;
  return arms
    .map((a) => {
      const share = `${a.version} ${formatShare(a.end - start)}`;
      start = a.end;
      return share;
    })
    .join(', ');
}

function formatShare(basisPoints: number): string {
  return `${Number((basisPoints / 100).toFixed(2))}%`;
}
