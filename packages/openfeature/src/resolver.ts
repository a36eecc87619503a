import {
  ErrorCode,
  StandardResolutionReasons,
  type FlagValue,
  type FlagValueType,
  type ResolutionDetails,
} from '@openfeature/core';
import { GraylaneError } from '@graylane/core';
import { readLane } from './decision.js';
import { toFlagMetadata, type LaneDecision } from './metadata.js';
import { toOpenFeatureReason } from './reasons.js';

/** The error codes a graylane provider reports; each has a counter in {@link GrayProviderStats}. */
export type GrayProviderErrorCode =
  'FLAG_NOT_FOUND' | 'TYPE_MISMATCH' | 'INVALID_CONTEXT' | 'GENERAL';

/** Evaluation counters of one provider: lanes served, and each error the code default covered. */
export interface GrayProviderStats {
  readonly resolved: number;
  readonly errors: Readonly<Record<GrayProviderErrorCode, number>>;
}

/** @internal The evaluation shared by the server and web providers. */
export interface LaneResolver {
  resolve<T extends FlagValue>(
    key: string,
    defaultValue: T,
    type: FlagValueType,
  ): ResolutionDetails<T>;
  stats(): GrayProviderStats;
}

/** @internal Checks a `getDecision` option (a programming mistake throws). */
export function checkAccessor<F>(what: string, fn: F | undefined, fallback: F): F {
  if (fn === undefined) return fallback;
  if (typeof fn === 'function') return fn;
  throw new GraylaneError('INVALID_OPTIONS', `${what} must be a function`);
}

/** @internal Checks a flag or context key given in options (a programming mistake throws). */
export function checkKey(what: string, key: unknown, fallback: string): string {
  if (key === undefined) return fallback;
  if (typeof key === 'string' && key.length > 0 && key.length <= 256) return key;
  throw new GraylaneError('INVALID_OPTIONS', `${what} must be a non-empty string (≤ 256 chars)`);
}

/**
 * @internal Checks the evaluation-context attribute a lane is written under. `__proto__` is
 * refused: OpenFeature merges contexts by object spread and assignment, where that name sets a
 * prototype instead of an attribute, so the lane would silently never reach the provider.
 */
export function checkContextKey(what: string, key: unknown, fallback: string): string {
  const checked = checkKey(what, key, fallback);
  if (checked !== '__proto__') return checked;
  throw new GraylaneError('INVALID_OPTIONS', `${what} cannot be "__proto__": a context drops it`);
}

/**
 * @internal Answers `flagKey` with the lane `readDecision()` returns. Every failure (including
 * an accessor that throws or returns something that is not a decision with a version label)
 * returns the caller's code default with an error code and bumps a counter (CONF-05): nothing
 * is thrown.
 */
export function createLaneResolver(
  flagKey: string,
  readDecision: () => LaneDecision | undefined,
  noContext: string,
): LaneResolver {
  let resolved = 0;
  const errors: Record<GrayProviderErrorCode, number> = {
    FLAG_NOT_FOUND: 0,
    TYPE_MISMATCH: 0,
    INVALID_CONTEXT: 0,
    GENERAL: 0,
  };
  const fail = <T>(
    value: T,
    code: GrayProviderErrorCode,
    message: string,
  ): ResolutionDetails<T> => {
    errors[code]++;
    return {
      value,
      reason: StandardResolutionReasons.ERROR,
      errorCode: ErrorCode[code],
      errorMessage: message,
    };
  };

  return {
    resolve<T extends FlagValue>(key: string, defaultValue: T, type: FlagValueType) {
      if (key !== flagKey)
        return fail(defaultValue, 'FLAG_NOT_FOUND', `graylane answers "${flagKey}" only`);
      if (type !== 'string') {
        return fail(defaultValue, 'TYPE_MISMATCH', `"${flagKey}" is a string flag, not ${type}`);
      }
      // Inside the check: an accessor that throws or returns anything but a decision gets the
      // code default and a standard error code, and is counted (CONF-05, I1).
      const read = readLane(readDecision);
      if (read.kind === 'none') return fail(defaultValue, 'INVALID_CONTEXT', noContext);
      if (read.kind === 'bad') return fail(defaultValue, 'GENERAL', read.message);
      const decision = read.decision;
      const details: ResolutionDetails<string> = {
        // T is string here: the SDK asked for a string flag.
        value: decision.version,
        variant: decision.version,
        reason: toOpenFeatureReason(decision.reason),
        flagMetadata: toFlagMetadata(decision),
      };
      resolved++;
      return details as ResolutionDetails<T>;
    },
    stats: () => ({ resolved, errors: { ...errors } }),
  };
}
