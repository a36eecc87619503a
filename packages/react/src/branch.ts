import { createElement, Fragment, type ReactNode } from 'react';
import { useGrayContext, useVersionOf } from './hooks.js';

/** Values by version. Keys are versions (own keys only); `default` is a last resort. */
export type GrayBranchMap<T> = Readonly<Partial<Record<string, T>>>;

/** Options of {@link useGrayBranch}. */
export interface UseGrayBranchOptions {
  /** The version whose value serves versions without one (lane fallback). */
  readonly fallback?: string;
}

/**
 * The value for the page's version, with lane fallback like `grayBranch`: the version's own
 * entry, else `fallback`'s, else the configured default version's, else the `default` key, else
 * `undefined`. Values are returned as they are (elements, objects, functions), never called.
 * Lookups use own keys only, so a version named like an `Object.prototype` member finds nothing.
 *
 * @example
 * ```ts
 * const checkout = useGrayBranch({ beta: createElement(NewCheckout), stable: createElement(Checkout) });
 * const limit = useGrayBranch({ beta: 50, default: 20 });
 * ```
 */
export function useGrayBranch<T>(
  branches: GrayBranchMap<T>,
  options: UseGrayBranchOptions = {},
): T | undefined {
  const ctx = useGrayContext('useGrayBranch');
  const version = useVersionOf(ctx);
  for (const key of [version, options.fallback, ctx.defaultVersion, 'default']) {
    if (key !== undefined && Object.hasOwn(branches, key)) return branches[key];
  }
  return undefined;
}

/** Props of {@link GrayBranch}. */
export interface GrayBranchProps {
  /** What to render per version, e.g. `{ beta: <NewCheckout />, stable: <Checkout /> }`. */
  readonly branches: GrayBranchMap<ReactNode>;
  /** The version whose branch serves versions without one. */
  readonly fallback?: string;
}

/**
 * Renders the branch for the page's version (see {@link useGrayBranch} for the fallback
 * order); nothing when no branch applies.
 *
 * @example
 * ```ts
 * createElement(GrayBranch, {
 *   branches: { beta: createElement(NewCheckout), stable: createElement(Checkout) },
 *   fallback: 'stable',
 * });
 * ```
 */
export function GrayBranch(props: GrayBranchProps): ReactNode {
  const options = props.fallback === undefined ? {} : { fallback: props.fallback };
  return createElement(Fragment, null, useGrayBranch(props.branches, options) ?? null);
}
