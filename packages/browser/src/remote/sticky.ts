import type { GrayConfig } from '@graylane/core';
import { storage } from './storage.js';

/** Why a sticky assignment was re-rolled: the policy that made it is no longer in force. */
export type RerollReason = 'rule_removed' | 'salt_changed' | 'version_removed';

/** Reported when a stored assignment is re-rolled instead of kept. */
export interface RerollEvent {
  readonly from: string;
  readonly to: string;
  readonly reason: RerollReason;
  /** The rule that had assigned `from`. */
  readonly ruleId: string;
}

/** @internal Which policy assigned the stored version: the rule and its bucket salt. */
export interface Stamp {
  readonly version: string;
  readonly ruleId: string;
  readonly salt?: string | undefined;
}

/** @internal Reads the stamp of the visitor's stored assignment. */
export function readStamp(key: string): Stamp | undefined {
  try {
    const s = JSON.parse(storage.get(key) ?? 'null') as Partial<Stamp> | null;
    return typeof s?.version == 'string' && typeof s.ruleId == 'string'
      ? {
          version: s.version,
          ruleId: s.ruleId,
          salt: typeof s.salt == 'string' ? s.salt : undefined,
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** @internal Records (or, with `undefined`, forgets) the policy behind the assignment. */
export function writeStamp(key: string, stamp: Stamp | undefined): void {
  storage.set(key, stamp && JSON.stringify(stamp));
}

/** @internal The salt a rule buckets with, `undefined` for a rule that is not a split. */
export function saltOf(config: GrayConfig, ruleId: string): string | undefined {
  const rule = config.rules.find((r) => r.id === ruleId);
  return rule?.kind === 'split' ? rule.salt : undefined;
}

/**
 * @internal The sticky policy (STK-03 for the browser): a stored assignment is kept across
 * rules changes — a lowered weight, a new rule in front — as long as the rule that made it is
 * still in force with the same bucket salt and can still give that version. Otherwise it is
 * re-rolled, and this says why. `undefined`: keep.
 */
export function verdict(config: GrayConfig, stamp: Stamp): RerollReason | undefined {
  const rule = config.rules.find((r) => r.id === stamp.ruleId);
  if (!rule) return 'rule_removed';
  if (rule.kind === 'split') {
    if (rule.salt !== stamp.salt) return 'salt_changed';
    return rule.arms.some((a) => a.version === stamp.version) ? undefined : 'version_removed';
  }
  return rule.version === stamp.version ? undefined : 'version_removed';
}
