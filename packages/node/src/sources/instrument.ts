import type { ConfigStore, UpdateMeta, UpdateResult } from '@graylane/core';
import type { SourceMetrics } from './metrics.js';

/**
 * Wraps a store so every `update` is counted by result (`graylane.config.reloads`) and reported
 * to `onResult` (which keeps the backup in step, SRC-04). Neither hook can fail a reload.
 */
export function instrumentStore(
  store: ConfigStore,
  metrics: SourceMetrics,
  onResult: (result: UpdateResult, meta: UpdateMeta | undefined) => void = () => undefined,
): ConfigStore {
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
      try {
        onResult(result, meta);
      } catch {
        // idem
      }
      return result;
    },
  };
}
