import { GraylaneError, MAX_CONFIG_BYTES } from '@graylane/core';
import { createRefresher, type EdgeSourceOptions } from './refresher.js';
import type { EdgeRuleSource } from './types.js';

/**
 * A key-value store as graylane reads it: Workers KV (`get(key, 'text')` → string or null) and
 * Vercel Edge Config (`get(key)` → the parsed JSON value or undefined) both fit. graylane calls
 * `get(key, 'text')`; the second parameter is typed open so that a client whose own second
 * parameter is an options object (Edge Config's `{ consistentRead }`, which ignores `'text'`)
 * is accepted as it is typed.
 */
export interface KeyValueLike {
  get(key: string, ...rest: never[]): Promise<unknown>;
}

/** How graylane calls {@link KeyValueLike.get}. */
type TextGet = (this: KeyValueLike, key: string, type: 'text') => Promise<unknown>;

/** Options of {@link createKvRules}. */
export interface KvRulesOptions extends EdgeSourceOptions {
  /** The binding (`env.RULES`) or client (`createClient(…)`). */
  readonly binding: KeyValueLike;
  /** The key holding the config document (JSON text or an already parsed object). */
  readonly key: string;
}

/**
 * Rules from a key-value binding, refreshed on requests at most every `minIntervalMs`. A
 * missing key or a failed read keeps the last-known-good config; a document over 1 MiB or one
 * that fails validation is rejected as a whole (CFG-01..07).
 *
 * @example
 * ```ts
 * const gray = createGraylane({ config: embedded, rules: createKvRules({ binding: env.RULES, key: 'graylane' }) });
 * ```
 */
export function createKvRules(options: KvRulesOptions): EdgeRuleSource {
  if (typeof options?.binding?.get !== 'function' || typeof options.key !== 'string')
    throw new GraylaneError('INVALID_OPTIONS', 'createKvRules: needs { binding, key }');
  const { binding, key } = options;
  return createRefresher(options, 'kv', async () => {
    const value = await (binding.get as TextGet).call(binding, key, 'text');
    if (value === null || value === undefined)
      return { kind: 'failed', message: `key "${key}" not found` };
    if (typeof value === 'string' && value.length > MAX_CONFIG_BYTES)
      return { kind: 'failed', message: `document larger than ${MAX_CONFIG_BYTES} bytes` };
    return { kind: 'document', value };
  });
}
