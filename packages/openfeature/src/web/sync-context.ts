import { OpenFeature, ProviderEvents, type EvaluationContext } from '@openfeature/web-sdk';
import { GraylaneError } from '@graylane/core';
import { DEFAULT_CONTEXT_KEY } from '../constants.js';
import { checkContextKey } from '../resolver.js';
import type { GrayClientLike } from './client-like.js';

/** The part of the web SDK's `OpenFeature` API that {@link syncGrayContext} uses. */
export interface OpenFeatureContextLike {
  getContext(domain?: string): EvaluationContext;
  setContext(context: EvaluationContext): Promise<void>;
  setContext(domain: string, context: EvaluationContext): Promise<void>;
  /** API-level events; without them the lane is written only when the client's version changes. */
  addHandler?(event: ProviderEvents, handler: () => void): void;
  removeHandler?(event: ProviderEvents, handler: () => void): void;
}

/** Options of {@link syncGrayContext}. */
export interface SyncGrayContextOptions {
  /** The context attribute that receives the lane. Default `grayVersion`. */
  readonly key?: string;
  /** Write a domain's context instead of the global one. */
  readonly domain?: string;
  /** The OpenFeature API. Default: `OpenFeature` from `@openfeature/web-sdk`. */
  readonly api?: OpenFeatureContextLike;
}

/**
 * The events after which the context may have lost the lane, as `@openfeature/web-sdk` emits them:
 * - `setContext(…)` / `clearContext()` (login, logout) emit Reconciling when the provider's
 *   `onContextChange` returns a promise, then ContextChanged — both after the SDK has called
 *   `onContextChange` with the app's context, so a provider that evaluates remotely there needs
 *   `withGrayContext`;
 * - `setProvider(provider, context)`, `setProviderAndWait(…)`, and binding a domain whose context
 *   the app set before, replace the context with no context event at all: only Ready follows
 *   (synchronously for a provider without `initialize`, after it for one with).
 * ConfigurationChanged, Stale and Error never touch the context. Writing the lane emits these
 * events again; the write is skipped once the lane is there, so the sync settles.
 */
const CONTEXT_EVENTS = [
  ProviderEvents.Ready,
  ProviderEvents.Reconciling,
  ProviderEvents.ContextChanged,
] as const;

/**
 * The web counterpart of the server's context hook. Web-SDK hooks cannot change the evaluation
 * context (static-context paradigm), so this writes the page's lane into OpenFeature's context
 * now, whenever the client's version changes, and again whenever the app replaces the context
 * (`OpenFeature.setContext(…)` on login, `clearContext()`, `setProviderAndWait(provider, context)`),
 * so targeting on `grayVersion` does not silently stop. Other attributes are kept. A provider that
 * evaluates remotely in `onContextChange` is told the app's context before the lane is back: wrap it
 * with {@link withGrayContext}. With `domain`, a domain that has no context of its
 * own keeps following the global one (plus the lane); once the app gives it its own, the lane
 * joins that. Returns the function that stops syncing. Never throws after construction.
 *
 * @example
 * ```ts
 * import { initGray } from '@graylane/browser';
 * import { syncGrayContext } from '@graylane/openfeature/web';
 *
 * const gray = initGray({ versions: ['stable', 'beta'], default: 'stable' });
 * const stop = syncGrayContext(gray); // context.grayVersion follows the page's lane
 * ```
 */
export function syncGrayContext(
  client: GrayClientLike,
  options: SyncGrayContextOptions = {},
): () => void {
  if (typeof client?.getGrayVersion !== 'function' || typeof client.subscribe !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'syncGrayContext: pass a GrayClient (initGray(…))');
  options ??= {}; // `null` from plain JS
  const key = checkContextKey('key', options.key, DEFAULT_CONTEXT_KEY);
  const api = options.api ?? OpenFeature;
  const { domain } = options;
  // The domain context this wrote last, and the global context it was built from (if it was).
  let mine: { context: EvaluationContext; from: EvaluationContext | undefined } | undefined;

  const apply = (version: string): void => {
    try {
      const current = domain === undefined ? api.getContext() : api.getContext(domain);
      let base = current;
      let from: EvaluationContext | undefined;
      if (domain !== undefined) {
        const global = api.getContext();
        const ours = mine !== undefined && mine.context === current;
        // The SDK answers a domain without a context with the global one: keep following it.
        if (current === global || (ours && mine?.from !== undefined)) base = from = global;
        if (ours && mine?.from === from && current[key] === version) return;
      }
      if (base === current && current[key] === version) return;
      const next = { ...base, [key]: version };
      if (domain !== undefined) mine = { context: next, from };
      const done = domain === undefined ? api.setContext(next) : api.setContext(domain, next);
      // A provider's failed reconcile is reported through OpenFeature's own error event.
      done.catch(() => undefined);
    } catch {
      // The lane is still served by the graylane client; only targeting on it is delayed.
    }
  };
  const reapply = (): void => {
    try {
      apply(client.getGrayVersion());
    } catch {
      // as above
    }
  };

  reapply();
  const unsubscribe = client.subscribe((version) => apply(version));
  for (const event of CONTEXT_EVENTS) api.addHandler?.(event, reapply);
  return () => {
    for (const event of CONTEXT_EVENTS) api.removeHandler?.(event, reapply);
    unsubscribe();
  };
}
