import { useContext, useSyncExternalStore } from 'react';
import { GraylaneError } from '@graylane/core';
import type { GrayClient } from '@graylane/browser';
import { GrayContext, type GrayContextValue } from './context.js';

/** @internal The provider's value; a missing provider is a setup mistake, reported clearly. */
export function useGrayContext(hook: string): GrayContextValue {
  const value = useContext(GrayContext);
  if (!value) {
    throw new GraylaneError('NO_CONTEXT', `${hook}() must be used inside <GrayProvider>`);
  }
  return value;
}

/**
 * The page's version, re-rendering when it changes (a QA `setGrayVersion` or
 * `clearGrayVersion`; a new client after an HMR edit of the options). During SSR and hydration it
 * is the server's version, so the markup always matches.
 *
 * @throws GraylaneError `NO_CONTEXT` outside `<GrayProvider>`.
 * @example
 * ```ts
 * function Badge() {
 *   const version = useGrayVersion();
 *   return createElement('span', { 'data-version': version }, version);
 * }
 * ```
 */
export function useGrayVersion(): string {
  return useVersionOf(useGrayContext('useGrayVersion'));
}

/** @internal The version as an external store: the server's during SSR and hydration. */
export function useVersionOf(ctx: GrayContextValue): string {
  return useSyncExternalStore(ctx.subscribe, ctx.getSnapshot, ctx.getServerSnapshot);
}

/**
 * The graylane client of this page, for QA switches (`setGrayVersion`), tracking fields and
 * `withGray`. During SSR it is the inert server client (no cookies, no propagation).
 *
 * @throws GraylaneError `NO_CONTEXT` outside `<GrayProvider>`.
 * @example
 * ```ts
 * const gray = useGrayClient();
 * const useBeta = () => gray.setGrayVersion('beta') && location.reload();
 * ```
 */
export function useGrayClient(): GrayClient {
  return useGrayContext('useGrayClient').client;
}
