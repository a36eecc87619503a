import { currentStore } from './storage.js';

/** Branches by version: keys are versions, values are thunks. */
export type GrayBranches<T> = Readonly<Partial<Record<string, () => T>>>;

/** Options of {@link grayBranch}. */
export interface GrayBranchOptions {
  /** The branch run when the current version has none. Default: the `default` branch key, if present. */
  readonly fallback?: string;
}

/**
 * Runs the branch for the current version. When the version has no branch (or there is no
 * request context) the `fallback` branch runs; with neither, `undefined` is returned. Lookups
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
  const version = currentStore()?.decision.version;
  const chosen = pick(branches, version) ?? pick(branches, options.fallback ?? 'default');
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
