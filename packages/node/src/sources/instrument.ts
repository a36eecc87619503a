import {
  hearFailedLoads,
  type ConfigStore,
  type UpdateMeta,
  type UpdateResult,
} from '@graylane/core';
import type { ReloadResult, SourceMetrics } from './metrics.js';

/**
 * Wraps a store so every `update` is counted by result (`graylane.config.reloads`) and reported
 * to `onResult` (which keeps the backup in step, SRC-04), and every load attempt a source reports
 * failed before it offered a document (`reportFailedLoad`) is counted as `failed`. An `update`
 * that throws (a store bug) is counted as `failed` too: nothing was applied or rejected. No hook
 * can fail a reload.
 */
export function instrumentStore(
  store: ConfigStore,
  metrics: SourceMetrics,
  onResult: (result: UpdateResult, meta: UpdateMeta | undefined) => void = () => undefined,
): ConfigStore {
  const count = (source: string, result: ReloadResult): void => {
    try {
      metrics.reload(source, result);
    } catch {
      // A metrics SDK bug must not fail a reload.
    }
  };
  const counted: ConfigStore = {
    get: () => store.get(),
    subscribe: (listener) => store.subscribe(listener),
    update(input, meta) {
      let result: UpdateResult;
      try {
        result = store.update(input, meta);
      } catch (err) {
        count(meta?.source ?? 'update', 'failed');
        throw err;
      }
      count(meta?.source ?? 'update', result.status);
      try {
        onResult(result, meta);
      } catch {
        // idem
      }
      return result;
    },
  };
  return hearFailedLoads(counted, (source) => count(source, 'failed'));
}
