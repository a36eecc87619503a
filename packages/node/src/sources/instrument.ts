import type { ConfigStore, UpdateResult } from '@graylane/core';
import type { SourceMetrics } from './metrics.js';

/**
 * Wraps a store so every `update` is counted by result (`graylane.config.reloads`). The wrapper
 * never throws: an unexpected validation bug becomes a `rejected`-like no-op (FLT-16).
 */
export function instrumentStore(store: ConfigStore, metrics: SourceMetrics): ConfigStore {
  return {
    get: () => store.get(),
    subscribe: (listener) => store.subscribe(listener),
    update(input, meta) {
      const result: UpdateResult = store.update(input, meta);
      try {
        metrics.reload(meta?.source ?? 'update', result.status);
      } catch {
        // A metrics SDK bug must not fail a reload.
      }
      return result;
    },
  };
}
