/**
 * The regex seam. graylane never runs regexes on the native backtracking engine: a platform
 * supplies a linear-time engine (RE2JS), so a regex rule cannot stall the event loop (CFG-10) and
 * the engine enters a bundle only when the application asks for it.
 */

import { MAX_REGEX_PROGRAM_SIZE } from './limits.js';

/** Compiles a pattern to an unanchored "find" predicate; throws on an invalid pattern. */
export interface RegexEngine {
  readonly name: string;
  compile(pattern: string): (subject: string) => boolean;
}

/** The part of the `re2js` package's `RE2JS` class that graylane uses. */
export interface Re2jsLike {
  compile(pattern: string): { test(input: string): boolean };
}

/** Where `re2js` keeps a compiled program's instructions (read only to bound its size). */
interface Re2jsProgram {
  readonly re2Input?: { readonly prog?: { readonly inst?: { readonly length: number } } };
}

/**
 * Wraps the `RE2JS` class from the `re2js` package as a {@link RegexEngine}. Lookaround and
 * backreferences are not RE2 syntax, so such patterns fail to compile (CFG-09); a program over
 * {@link MAX_REGEX_PROGRAM_SIZE} instructions once compiled fails too (CFG-10: `x{1,200}` repeats
 * `x` 200 times, and matching costs in proportion). A pattern is compiled once while a config
 * still holds its program (RX-04): a reload compiles only what changed.
 *
 * @example
 * ```ts
 * import { RE2JS } from 're2js';
 * const config = parseConfig(doc, { regex: createRe2Engine(RE2JS) });
 * ```
 */
export function createRe2Engine(re2js: Re2jsLike): RegexEngine {
  // RX-04: a pattern that a config still alive compiled is reused. A reload of a config with
  // 1,000 regex rules compiled every one again, 0.3–3 s on the event loop, though most had not
  // changed. The cache holds its programs weakly: an entry lives exactly as long as some config
  // holds the program, so the cache never holds more than the configs do (10,000 patterns across
  // reloads leave only the live config's), and a dropped entry's key goes with it.
  const cache = new Map<string, WeakRef<{ test(input: string): boolean }>>();
  const dropped =
    typeof WeakRef === 'function' && typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<string>((pattern) => {
          if (cache.get(pattern)?.deref() === undefined) cache.delete(pattern);
        })
      : undefined;
  return {
    name: 're2js',
    compile(pattern) {
      let re = cache.get(pattern)?.deref();
      if (re === undefined) {
        re = re2js.compile(pattern);
        const size = (re as Re2jsProgram).re2Input?.prog?.inst?.length;
        if (typeof size === 'number' && size > MAX_REGEX_PROGRAM_SIZE)
          throw new Error(
            `${size} instructions once compiled, over ${MAX_REGEX_PROGRAM_SIZE}: a counted repetition such as {1,200} copies its group that many times`,
          );
        if (dropped !== undefined) {
          cache.set(pattern, new WeakRef(re));
          dropped.register(re, pattern);
        }
      }
      const program = re;
      return (subject) => program.test(subject);
    },
  };
}
