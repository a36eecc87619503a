import { RE2JS } from 're2js';
import { createRe2Engine, type RegexEngine } from '@graylane/core';

let engine: RegexEngine | undefined;

/**
 * The regex engine Node uses for `regex` rules: RE2JS (linear time, RELIABILITY design rule 4).
 * The inbound engine passes it to core, which builds the config store from `options.config`.
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
