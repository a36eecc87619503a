import { OpenFeature, type EvaluationContext } from '@openfeature/web-sdk';
import { DEFAULT_CONTEXT_KEY } from '../constants.js';
import { checkKey } from '../resolver.js';
import type { GrayClientLike } from './client-like.js';

/** The part of the web SDK's `OpenFeature` API that {@link syncGrayContext} uses. */
export interface OpenFeatureContextLike {
  getContext(domain?: string): EvaluationContext;
  setContext(context: EvaluationContext): Promise<void>;
  setContext(domain: string, context: EvaluationContext): Promise<void>;
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
 * The web counterpart of the server's context hook. Web-SDK hooks cannot change the evaluation
 * context (static-context paradigm), so this writes the page's lane into OpenFeature's context
 * now and again whenever the client's version changes; providers then reconcile, and any of them
 * (flagd, GrowthBook, LaunchDarkly, Unleash) can target on `grayVersion`. Other attributes are
 * kept. Returns the function that stops syncing. Never throws after construction.
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
  const key = checkKey('key', options.key, DEFAULT_CONTEXT_KEY);
  const api = options.api ?? OpenFeature;
  const { domain } = options;
  const apply = (version: string): void => {
    try {
      const current = domain === undefined ? api.getContext() : api.getContext(domain);
      if (current[key] === version) return;
      const next = { ...current, [key]: version };
      const done = domain === undefined ? api.setContext(next) : api.setContext(domain, next);
      // A provider's failed reconcile is reported through OpenFeature's own error event.
      done.catch(() => undefined);
    } catch {
      // The lane is still served by the graylane client; only targeting on it is delayed.
    }
  };
  apply(client.getGrayVersion());
  const unsubscribe = client.subscribe((version) => apply(version));
  return () => unsubscribe();
}
