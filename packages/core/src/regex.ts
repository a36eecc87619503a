/**
 * The regex seam. graylane never runs regexes on the native backtracking engine: a platform
 * supplies a linear-time engine (RE2JS), so a regex rule cannot stall the event loop (CFG-10) and
 * the engine enters a bundle only when the application asks for it.
 */

import {
  MAX_REGEX_PATTERN_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
  MAX_REGEX_REFUSALS_CACHED,
  REGEX_STATE_BYTES_PER_INSTRUCTION,
} from './limits.js';
import { programSizeAtLeast } from './regex-bound.js';

/** Compiles a pattern to an unanchored "find" predicate; throws on an invalid pattern. */
export interface RegexEngine {
  readonly name: string;
  compile(pattern: string): RegexPredicate;
}

/**
 * A compiled pattern. `instructions`, when the engine tells it, is the program's size: a document's
 * regex programs together stay within `MAX_REGEX_DOCUMENT_SIZE` (RX-05).
 */
export interface RegexPredicate {
  (subject: string): boolean;
  readonly instructions?: number | undefined;
}

/** The part of the `re2js` package's `RE2JS` class that graylane uses. */
export interface Re2jsLike {
  compile(pattern: string): { test(input: string): boolean };
}

/**
 * Where `re2js` keeps a compiled program's instructions (read to bound its size) and its lazy DFA,
 * whose memory budget graylane lowers (RX-05).
 */
interface Re2jsProgram {
  readonly re2Input?: {
    readonly prog?: { readonly inst?: { readonly length: number } };
    readonly dfa?: { maxMem?: unknown; stateBudget?: unknown; memBudget?: unknown };
  };
}

/**
 * Bounds the state re2js's lazy DFA keeps for one program to {@link REGEX_STATE_BYTES_PER_INSTRUCTION}
 * per instruction (re2js's default is 8 MiB per program). Past it the DFA clears its cache and
 * starts over, or leaves the match to re2js's other engines, as RE2 does.
 */
function boundState(re: Re2jsProgram, size: number): void {
  const dfa = re.re2Input?.dfa;
  if (
    dfa === undefined ||
    typeof dfa.maxMem !== 'number' ||
    typeof dfa.stateBudget !== 'number' ||
    typeof dfa.memBudget !== 'number'
  )
    return;
  const bytes = Math.min(dfa.maxMem, size * REGEX_STATE_BYTES_PER_INSTRUCTION);
  dfa.maxMem = bytes;
  dfa.stateBudget = bytes;
  dfa.memBudget = bytes;
}

/**
 * A refusal, carrying the instructions it stands for (RX-05, RX-06): the size of a program
 * compiled and found too large, the lower bound of one refused before compiling, the length of a
 * pattern re2js could not read (it read all of it). The document budget counts them.
 */
function refusal(message: string, instructions: number, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { instructions });
}

/**
 * Wraps the `RE2JS` class from the `re2js` package as a {@link RegexEngine}. Lookaround and
 * backreferences are not RE2 syntax, so such patterns fail to compile (CFG-09); a program over
 * {@link MAX_REGEX_PROGRAM_SIZE} instructions once compiled fails too (CFG-10: `x{1,200}` repeats
 * `x` 200 times, and matching costs in proportion). A pattern whose program is surely over the
 * cap is refused before re2js builds it, from a bound read off its syntax in linear time (RX-06:
 * building `\pL{1,999}` 25 times over took re2js seconds, only to refuse it). A pattern is
 * compiled once while a config still holds its program (RX-04): a reload compiles only what
 * changed; a refusal is remembered too.
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
  const sizes = new WeakMap<object, number>();
  const dropped =
    typeof WeakRef === 'function' && typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<string>((pattern) => {
          if (cache.get(pattern)?.deref() === undefined) cache.delete(pattern);
        })
      : undefined;
  // RX-06: refusals by pattern, oldest dropped first.
  const refused = new Map<string, { message: string; instructions: number }>();
  // Whether this re2js tells program sizes: only then is a pattern refused for its size.
  let sized: boolean | undefined;
  const build = (pattern: string) => {
    const re = re2js.compile(pattern);
    const size = (re as Re2jsProgram).re2Input?.prog?.inst?.length;
    sized = typeof size === 'number';
    return { re, size };
  };
  const refuse = (pattern: string, message: string, instructions: number, cause?: unknown) => {
    if (pattern.length <= MAX_REGEX_PATTERN_LENGTH) {
      if (refused.size >= MAX_REGEX_REFUSALS_CACHED) refused.delete(refused.keys().next().value!);
      refused.set(pattern, { message, instructions });
    }
    return refusal(message, instructions, cause);
  };
  const tooLarge = (size: number, bound: boolean) =>
    `${size} instructions once compiled, over ${MAX_REGEX_PROGRAM_SIZE}${bound ? ' (at least: counted from the pattern, not compiled)' : ''}: a counted repetition such as {1,200} copies its group that many times`;
  return {
    name: 're2js',
    compile(pattern) {
      let re = cache.get(pattern)?.deref();
      if (re === undefined) {
        const known = refused.get(pattern);
        if (known !== undefined) throw refusal(known.message, known.instructions);
        const least = programSizeAtLeast(pattern);
        if (least !== undefined && least > MAX_REGEX_PROGRAM_SIZE) {
          // A re2js that does not tell sizes was never held to the cap: ask it once.
          if (sized === undefined) {
            try {
              build('');
            } catch {
              sized = false;
            }
          }
          if (sized === true) throw refuse(pattern, tooLarge(least, true), least);
        }
        let size: number | undefined;
        try {
          ({ re, size } = build(pattern));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          throw refuse(pattern, message, pattern.length, err);
        }
        if (typeof size === 'number' && size > MAX_REGEX_PROGRAM_SIZE)
          throw refuse(pattern, tooLarge(size, false), size);
        if (typeof size === 'number') {
          boundState(re as Re2jsProgram, size);
          sizes.set(re, size);
        }
        if (dropped !== undefined) {
          cache.set(pattern, new WeakRef(re));
          dropped.register(re, pattern);
        }
      }
      const program = re;
      const find = (subject: string): boolean => program.test(subject);
      return Object.assign(find, { instructions: sizes.get(program) });
    },
  };
}
