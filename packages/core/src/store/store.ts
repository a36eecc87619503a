import { GraylaneError, isGraylaneError } from '../errors.js';
import { parseConfig, type ParseConfigOptions } from '../config/parse.js';
import type { GrayConfig } from '../config/types.js';
import { changedRuleIds, settingsChanged } from './diff.js';
import type {
  ConfigEvent,
  ConfigSnapshot,
  ConfigStore,
  Revision,
  UpdateMeta,
  UpdateResult,
} from './types.js';

/** Options for {@link createConfigStore}. */
export interface ConfigStoreOptions extends ParseConfigOptions {
  /** The embedded default: always valid, always the floor. A document or a parsed config. */
  readonly initial: unknown;
  /** Name of the initial source. Default `embedded`. */
  readonly source?: string | undefined;
  /** Clock for `updatedAt`. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * Creates a config store: every update is validated, compared in normal form (`canonical`:
 * spelled-out defaults, key order and header-name case do not count) and swapped atomically only
 * when it really changed. A bad update keeps the last-known-good config and is
 * reported (RELIABILITY I5, I6, CFG-12, CFG-13). Throws only if `initial` is missing
 * (`INVALID_OPTIONS`) or invalid (`INVALID_CONFIG`). `update(input, null)`: no meta.
 *
 * @example
 * ```ts
 * const store = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
 * store.subscribe((e) => e.type === 'change' && console.log('rules changed:', e.changedRuleIds));
 * store.update(nextText, { source: 'file' });
 * decide(store.get().config, request);
 * ```
 */
export function createConfigStore(options: ConfigStoreOptions): ConfigStore {
  // Nothing, `null`, a bare document: say what is missing, not "not a JSON value (undefined)".
  // (`{ initial: undefined }`, a caller's missing config, stays an INVALID_CONFIG.)
  if (typeof options !== 'object' || options === null || !('initial' in options))
    throw new GraylaneError('INVALID_OPTIONS', 'createConfigStore: pass { initial: config }');
  const now = options.now ?? Date.now;
  const parseOptions: ParseConfigOptions = { regex: options.regex };
  let current: ConfigSnapshot = {
    config: parseConfig(options.initial, parseOptions),
    version: 1,
    source: options.source ?? 'embedded',
    updatedAt: now(),
  };
  const revisions = new Map<string, Revision>();
  const listeners = new Set<(event: ConfigEvent) => void>();

  const emit = (event: ConfigEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A throwing listener must not break the store or the other listeners (FLT-16).
      }
    }
  };

  const update = (input: unknown, meta: UpdateMeta = {}): UpdateResult => {
    const source = meta?.source ?? 'update'; // `null` from plain JS: no meta
    if (meta?.revision !== undefined) {
      const last = revisions.get(source);
      if (last !== undefined && !(meta.revision > last))
        return { status: 'stale', snapshot: current };
      revisions.set(source, meta.revision);
    }
    let next: GrayConfig;
    try {
      next = parseConfig(input, parseOptions);
    } catch (err) {
      const error = isGraylaneError(err)
        ? err
        : new GraylaneError(
            'INVALID_CONFIG',
            `config validation failed unexpectedly: ${String(err)}`,
            { cause: err },
          );
      emit({ type: 'rejected', source, error });
      return { status: 'rejected', snapshot: current, error };
    }
    if (next.canonical === current.config.canonical)
      return { status: 'unchanged', snapshot: current };
    const previous = current;
    current = { config: next, version: previous.version + 1, source, updatedAt: now() };
    const ids = changedRuleIds(previous.config, next);
    emit({
      type: 'change',
      snapshot: current,
      previous,
      changedRuleIds: ids,
      settingsChanged: settingsChanged(previous.config, next),
    });
    return { status: 'changed', snapshot: current, changedRuleIds: ids };
  };

  return {
    get: () => current,
    update,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * True for objects that look like a {@link ConfigStore} (structural, works across copies).
 *
 * @example
 * ```ts
 * const store = isConfigStore(options.config) ? options.config : createConfigStore({ initial: options.config });
 * ```
 */
export function isConfigStore(value: unknown): value is ConfigStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ConfigStore).get === 'function' &&
    typeof (value as ConfigStore).update === 'function' &&
    typeof (value as ConfigStore).subscribe === 'function'
  );
}
