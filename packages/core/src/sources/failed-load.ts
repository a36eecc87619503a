import type { ConfigStore, UpdateMeta, UpdateResult } from '../store/types.js';

/**
 * Where a store handed to sources hears about a load attempt that offered it no document. One
 * key per process (`Symbol.for`), so sources and `startSources` from different copies agree.
 */
const FAILED_LOAD = Symbol.for('@graylane/sources.failed-load');

type Hearing = ConfigStore & { readonly [FAILED_LOAD]?: unknown };

/**
 * @internal Tells the store a source feeds that one load attempt failed before any document reached
 * it — a connection or HTTP error, a timeout, a missing or unreadable file, a document refused
 * before it was parsed, an etcd error or an absent key — so that `startSources` counts it as
 * `graylane.config.reloads{result="failed"}` (a document the store rejects is counted by the store's
 * own result). A store that does not listen (one passed to `start()` directly) hears nothing.
 * Never throws.
 *
 * @example
 * ```ts
 * reportFailedLoad(store, name); // next to status.failed(message)
 * ```
 */
export function reportFailedLoad(store: ConfigStore | undefined, source: string): void {
  const hear = (store as Hearing | undefined)?.[FAILED_LOAD];
  if (typeof hear !== 'function') return;
  try {
    (hear as (source: string) => void).call(store, source);
  } catch {
    // A metrics bug must not fail a source.
  }
}

/**
 * @internal `store` (the same object), now hearing {@link reportFailedLoad} through `onFailed`.
 *
 * @example
 * ```ts
 * hearFailedLoads(counted, (source) => metrics.reload(source, 'failed'));
 * ```
 */
export function hearFailedLoads<S extends ConfigStore>(
  store: S,
  onFailed: (source: string) => void,
): S {
  Object.defineProperty(store, FAILED_LOAD, { value: onFailed, enumerable: false });
  return store;
}

/**
 * One result of a reload: the store's answer to a document (`changed`, `unchanged`, `stale`,
 * `rejected`), or `failed` — a load attempt that offered the store none ({@link reportFailedLoad}),
 * or an `update` that threw.
 */
export type ReloadResult = UpdateResult['status'] | 'failed';

/**
 * @internal A store that counts every `update` by its result and every failed load a source
 * reports ({@link reportFailedLoad}) as `failed`, by source name, then tells `onResult` (Node keeps
 * its backup in step there, SRC-04). Neither hook can fail a reload: their errors are swallowed.
 * `store` itself is not changed. What Node's `graylane.config.reloads` and the Web engine's
 * `counters.reload` count.
 *
 * @example
 * ```ts
 * const counted = countReloads(store, (source, result) => metrics.reload(source, result));
 * ```
 */
export function countReloads(
  store: ConfigStore,
  count: (source: string, result: ReloadResult) => void,
  onResult: (result: UpdateResult, meta: UpdateMeta | undefined) => void = () => undefined,
): ConfigStore {
  const tell = (source: string, result: ReloadResult): void => {
    try {
      count(source, result);
    } catch {
      // A metrics bug must not fail a reload.
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
        tell(meta?.source ?? 'update', 'failed');
        throw err;
      }
      tell(meta?.source ?? 'update', result.status);
      try {
        onResult(result, meta);
      } catch {
        // idem
      }
      return result;
    },
  };
  return hearFailedLoads(counted, (source) => tell(source, 'failed'));
}
