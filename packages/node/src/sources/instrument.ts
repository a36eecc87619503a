import { countReloads, type ConfigStore, type UpdateMeta, type UpdateResult } from '@graylane/core';
import type { SourceMetrics } from './metrics.js';

/**
 * Wraps a store so every `update` is counted by result (`graylane.config.reloads`) and reported
 * to `onResult` (which keeps the backup in step, SRC-04), and every load attempt a source reports
 * failed before it offered a document (`reportFailedLoad`) is counted as `failed`. An `update`
 * that throws (a store bug) is counted as `failed` too: nothing was applied or rejected. No hook
 * can fail a reload (core's `countReloads`, which the Web engine's `counters.reload` uses too).
 */
export function instrumentStore(
  store: ConfigStore,
  metrics: SourceMetrics,
  onResult: (result: UpdateResult, meta: UpdateMeta | undefined) => void = () => undefined,
): ConfigStore {
  return countReloads(store, (source, result) => metrics.reload(source, result), onResult);
}
