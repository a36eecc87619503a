import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type JsonValue,
  type Provider,
} from '@openfeature/web-sdk';
import { GraylaneError } from '@graylane/core';
import { DEFAULT_FLAG_KEY, PROVIDER_NAME } from '../constants.js';
import { checkKey, createLaneResolver, type GrayProviderStats } from '../resolver.js';
import type { GrayClientLike } from './client-like.js';

/** Options of {@link createGrayWebProvider}. */
export interface GrayWebProviderOptions {
  /** The browser client whose version is the lane (`initGray(…)` from `@graylane/browser`). */
  readonly client: GrayClientLike;
  /** The flag answered with the lane. Default `gray-version`. */
  readonly flagKey?: string;
}

/** An OpenFeature web provider that answers one flag with the page's lane. */
export interface GrayWebProvider extends Provider {
  readonly runsOn: 'client';
  readonly events: OpenFeatureEventEmitter;
  /** Counters: lanes served and each error for which the code default was returned. */
  stats(): GrayProviderStats;
}

/**
 * An OpenFeature provider for the web SDK (static-context paradigm), backed by a
 * `@graylane/browser` client: `gray-version` (configurable) resolves to the page's version, with
 * graylane's reason mapped to OpenFeature's. When the client's version changes (a QA switch, or
 * clearing it) it emits `ConfigurationChanged`, so `useFlag` and event handlers
 * re-read. Another flag or type gets the code default with an error code; nothing throws.
 * Throws `INVALID_OPTIONS` without a client.
 *
 * @example
 * ```ts
 * import { OpenFeature } from '@openfeature/web-sdk';
 * import { initGray } from '@graylane/browser';
 * import { createGrayWebProvider } from '@graylane/openfeature/web';
 *
 * const gray = initGray({ versions: ['stable', 'beta'], default: 'stable' });
 * await OpenFeature.setProviderAndWait('graylane', createGrayWebProvider({ client: gray }));
 * OpenFeature.getClient('graylane').getStringValue('gray-version', 'stable'); // 'stable' or 'beta'
 * ```
 */
export function createGrayWebProvider(options: GrayWebProviderOptions): GrayWebProvider {
  const client = options?.client as GrayClientLike | undefined;
  if (typeof client?.getGrayVersion !== 'function' || typeof client.subscribe !== 'function') {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createGrayWebProvider: `client` must be a GrayClient',
    );
  }
  const flagKey = checkKey('flagKey', options.flagKey, DEFAULT_FLAG_KEY);
  const lanes = createLaneResolver(
    flagKey,
    () => {
      const version = client.getGrayVersion();
      return version === undefined
        ? undefined
        : { version, reason: client.getGrayReason(), source: 'client' };
    },
    'the graylane client has no version',
  );
  const events = new OpenFeatureEventEmitter();
  let unsubscribe: (() => void) | undefined;
  return {
    metadata: { name: PROVIDER_NAME },
    runsOn: 'client',
    hooks: [],
    events,
    initialize: async () => {
      unsubscribe?.();
      unsubscribe = client.subscribe(() =>
        events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [flagKey] }),
      );
    },
    onClose: async () => {
      unsubscribe?.();
      unsubscribe = undefined;
    },
    resolveBooleanEvaluation: (key, value) => lanes.resolve(key, value, 'boolean'),
    resolveStringEvaluation: (key, value) => lanes.resolve(key, value, 'string'),
    resolveNumberEvaluation: (key, value) => lanes.resolve(key, value, 'number'),
    resolveObjectEvaluation: <T extends JsonValue>(key: string, value: T) =>
      lanes.resolve(key, value, 'object'),
    stats: () => lanes.stats(),
  };
}
