import { describeArms, shareAt, type CompiledRule, type GrayConfig } from '@graylane/core';
import { printable } from './text.js';

type SplitRule = Extract<CompiledRule, { kind: 'split' }>;

/** One scheduled rule at an instant, for `explain` and `diff` (text and `--json`). */
export interface ScheduleView {
  readonly ruleId: string;
  /** The share in force at the instant, e.g. `beta 5%, stable 95%`. */
  readonly inForce: string;
  /** -1: the rule's own split (before the first step); else the step index. */
  readonly step: number;
  readonly paused: boolean;
  readonly pausedAt: string | undefined;
  readonly steps: readonly { readonly at: string; readonly share: string }[];
  /** The rule's own split, in force before the first step. */
  readonly before: string;
}

/** Every split rule that has a schedule, seen at `now`. */
export function schedulesAt(config: GrayConfig, now: number): ScheduleView[] {
  return config.rules
    .filter((r): r is SplitRule => r.kind === 'split' && r.schedule.length > 0)
    .map((rule) => scheduleAt(rule, now));
}

function scheduleAt(rule: SplitRule, now: number): ScheduleView {
  const share = shareAt(rule, now);
  return {
    ruleId: rule.id,
    inForce: describeArms(share.arms),
    step: share.step,
    paused: share.paused,
    pausedAt: rule.pausedAt === undefined ? undefined : new Date(rule.pausedAt).toISOString(),
    before: describeArms(rule.arms),
    steps: rule.schedule.map((s) => ({
      at: new Date(s.at).toISOString(),
      share: describeArms(s.arms),
    })),
  };
}

/**
 * The text lines of a schedule view: every step, the one in force marked with `▶`; the rule id and
 * the shares (version labels) escaped as all config text is (I1).
 */
export function scheduleLines(view: ScheduleView, now: number, label = ''): string[] {
  const mark = (i: number) => (i === view.step ? '▶' : ' ');
  const pause = view.pausedAt
    ? view.paused
      ? ` (paused at ${view.pausedAt})`
      : ` (pause set for ${view.pausedAt})`
    : '';
  return [
    `schedule ${printable(view.ruleId)}${label} at ${new Date(now).toISOString()}: ${printable(view.inForce)}${pause}`,
    `  ${mark(-1)} before the first step: ${printable(view.before)}`,
    ...view.steps.map((s, i) => `  ${mark(i)} from ${s.at}: ${printable(s.share)}`),
  ];
}
