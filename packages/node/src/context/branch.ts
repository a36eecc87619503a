import { GraylaneError } from '@graylane/core';
import { recordLane } from './lane-outcome.js';
import { resolveLane, type LaneTable } from './lanes.js';
import { currentStore } from './storage.js';
import { GrayLaneUnavailableError } from './unavailable.js';

/** Branches by version: keys are versions, values are thunks. */
export type GrayBranches<T> = Readonly<Partial<Record<string, () => T>>>;

/** Options of {@link grayBranch}. */
export interface GrayBranchOptions {
  /** The branch run when the current version has none. Default: the `default` branch key, if present. */
  readonly fallback?: string;
  /**
   * The service's lane table ({@link defineLanes}): versions it does not implement follow its
   * policy — the fallback branch, a {@link GrayLaneUnavailableError} (`strict`), or the lane a
   * function picks. The outcome is recorded like `grayHandlers`' (counter, span, `tryGetGrayLane`).
   */
  readonly lanes?: LaneTable;
}

/**
 * Runs the branch for the current version. When the version has no branch (or there is no
 * request context) the `fallback` branch runs; with neither, `undefined` is returned. With
 * `lanes`, the table's policy decides (`strict` throws a `GrayLaneUnavailableError`). Lookups
 * use own keys only, so a version named like an `Object.prototype` member never hits a
 * prototype function (I2).
 *
 * @example
 * ```ts
 * const price = grayBranch({ beta: () => newPricing(cart), stable: () => oldPricing(cart) }, { fallback: 'stable' });
 * ```
 */
export function grayBranch<T>(
  branches: GrayBranches<T>,
  options: GrayBranchOptions = {},
): T | undefined {
  if (typeof branches !== 'object' || branches === null)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'grayBranch: branches must be { version: () => value }',
    );
  options ??= {}; // `null` from plain JS
  const store = currentStore();
  const version = store?.decision.version;
  const lanes = options.lanes;
  if (lanes === undefined) {
    const chosen = pick(branches, version) ?? pick(branches, options.fallback ?? 'default');
    return chosen ? chosen() : undefined;
  }
  const r = resolveLane(
    lanes,
    version,
    (lane) => pick(branches, lane) !== undefined,
    options.fallback ?? lanes.fallback,
  );
  if (r.kind === 'unavailable') {
    recordLane(store, version as string, undefined, []);
    throw new GrayLaneUnavailableError(version as string);
  }
  if (r.kind === 'fallback' && version !== undefined) recordLane(store, version, r.lane, []);
  const chosen = pick(branches, r.lane);
  return chosen ? chosen() : undefined;
}

/** @internal Own-key lookup of a function value. */
export function pick<F>(
  table: Readonly<Partial<Record<string, F>>>,
  key: string | undefined,
): F | undefined {
  if (key === undefined || !Object.hasOwn(table, key)) return undefined;
  const value = table[key];
  return typeof value === 'function' ? value : undefined;
}
