import { createRe2Engine } from '@graylane/core';
import type { RegexEngine } from '@graylane/core';
import { RE2JS } from 're2js';

/**
 * A linear-time regex engine (RE2JS) for configs with `regex` matchers. Import this subpath only
 * when you need it: the main entry never bundles re2js.
 *
 * @example
 * ```ts
 * import { parseConfig } from '@graylane/core';
 * import { re2Engine } from '@graylane/browser/regex';
 * const config = parseConfig(doc, { regex: re2Engine });
 * ```
 */
export const re2Engine: RegexEngine = /* @__PURE__ */ createRe2Engine(RE2JS);
