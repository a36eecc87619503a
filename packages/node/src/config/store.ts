import { RE2JS } from 're2js';
import {
  createConfigStore,
  createRe2Engine,
  isConfigStore,
  type ConfigStore,
  type RegexEngine,
} from '@graylane/core';
import type { GraylaneOptions } from '../options.js';

let engine: RegexEngine | undefined;

/**
 * The regex engine Node uses for `regex` rules: RE2JS (linear time, RELIABILITY design rule 4).
 *
 * @example
 * ```ts
 * const config = parseConfig(text, { regex: nodeRegexEngine() });
 * ```
 */
export function nodeRegexEngine(): RegexEngine {
  engine ??= createRe2Engine(RE2JS);
  return engine;
}

/** @internal Turns the `config` option into a store; throws `INVALID_CONFIG` on a bad document. */
export function resolveStore(config: GraylaneOptions['config']): ConfigStore {
  if (isConfigStore(config)) return config;
  return createConfigStore({ initial: config, regex: nodeRegexEngine() });
}
