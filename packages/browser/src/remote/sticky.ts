import type { GrayConfig } from '@graylane/core';
import type { GrayClient } from '../client.js';
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

/**
 * Reasons that say the stored version may be someone's choice, not the rules': a QA choice
 * (`setGrayVersion`), a `?gray=` override (persisted or not: the client does not say, and keeping
 * is the safe side). A server hand-off is not one: it rules its page view and is never stored.
 */
const CHOSEN = ['manual', 'override'];

/**
 * @internal Forgets the stamp as soon as the visitor's version is a choice: the sticky policy
 * re-rolls only what the rules gave, and a stamp left behind would make a QA choice of the same
 * version look rule-given on the next page view. `subscribe` hears a choice at once — of another
 * version, or of the version on screen (its reason becomes `manual`); the check also runs now (a
 * choice made before `start`) and whenever the page is hidden or left (a client from an older
 * `@graylane/browser` told only version changes). `clearGrayVersion` needs nothing: the rules run again and stamp what they
 * give. Errs towards keeping: a page view that was a choice leaves no stamp behind. Returns the
 * function that stops watching.
 */
export function detachOnChoice(client: GrayClient, key: string): () => void {
  const check = (): void => {
    if (CHOSEN.includes(client.getGrayReason())) writeStamp(key, undefined);
  };
  const listening = new AbortController();
  const { signal } = listening;
  check();
  const off = client.subscribe(check);
  addEventListener('pagehide', check, { signal });
  document.addEventListener('visibilitychange', check, { signal });
  return () => {
    off();
    listening.abort();
  };
}
