import { MAX_IN_LIST, MAX_REGEX_PATTERN_LENGTH, MAX_REGEX_SUBJECT_LENGTH } from '../limits.js';
import type { JsonValue } from '../json/parse.js';
import type { RegexEngine } from '../regex.js';
import type { CompiledMatcher, MatcherOperator } from './types.js';
import type { Issues } from './issues.js';

const OPERATORS: ReadonlySet<string> = new Set<MatcherOperator>([
  'equals',
  'in',
  'prefix',
  'suffix',
  'regex',
  'exists',
]);

/** Compiles one matcher document, or records issues and returns undefined. */
export function compileMatcher(
  doc: JsonValue | undefined,
  path: string,
  issues: Issues,
  regex: RegexEngine | undefined,
): CompiledMatcher | undefined {
  if (!isObject(doc)) return issues.add(path, 'a matcher must be an object like {"equals": "x"}');
  const keys = Object.keys(doc);
  if (keys.length !== 1 || !OPERATORS.has(keys[0] as string)) {
    return issues.add(
      path,
      `a matcher needs exactly one of equals, in, prefix, suffix, regex, exists (got ${keys.join(', ') || 'none'})`,
    );
  }
  const op = keys[0] as MatcherOperator;
  const arg = doc[op];
  const at = `${path}.${op}`;
  switch (op) {
    case 'equals':
      return typeof arg === 'string' ? equals(arg, issues, at) : issues.add(at, 'must be a string');
    case 'prefix':
    case 'suffix':
      return typeof arg === 'string'
        ? affix(op, arg, issues, at)
        : issues.add(at, 'must be a string');
    case 'in':
      return oneOf(arg, issues, at);
    case 'exists':
      return typeof arg === 'boolean' ? exists(arg) : issues.add(at, 'must be true or false');
    case 'regex':
      return typeof arg === 'string'
        ? compileRegex(arg, issues, at, regex)
        : issues.add(at, 'must be a string');
  }
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function warnSpaces(value: string, issues: Issues, at: string): void {
  if (value !== value.trim())
    issues.warn(at, `"${value}" has leading or trailing whitespace; matching is byte-exact`);
}

function equals(expected: string, issues: Issues, at: string): CompiledMatcher {
  warnSpaces(expected, issues, at);
  return {
    op: 'equals',
    describe: `equals ${JSON.stringify(expected)}`,
    test: (v) => v === expected,
  };
}

function affix(
  op: 'prefix' | 'suffix',
  affixValue: string,
  issues: Issues,
  at: string,
): CompiledMatcher {
  if (affixValue === '') issues.warn(at, `an empty ${op} matches every present value`);
  else warnSpaces(affixValue, issues, at);
  const describe = `${op === 'prefix' ? 'starts with' : 'ends with'} ${JSON.stringify(affixValue)}`;
  // No cap on the value: `startsWith` / `endsWith` compare the affix's characters only (and
  // `equals` compares lengths first), so a long value costs what a short one does and gets the
  // answer a user expects. Only a regex's work grows with its subject (MAX_REGEX_SUBJECT_LENGTH).
  const test =
    op === 'prefix'
      ? (v: string | undefined) => v !== undefined && v.startsWith(affixValue)
      : (v: string | undefined) => v !== undefined && v.endsWith(affixValue);
  return { op, describe, test };
}

function oneOf(
  arg: JsonValue | undefined,
  issues: Issues,
  at: string,
): CompiledMatcher | undefined {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length > MAX_IN_LIST) {
    return issues.add(at, `must be a list of 1 to ${MAX_IN_LIST} strings`);
  }
  const values = new Set<string>();
  arg.forEach((v, i) => {
    if (typeof v !== 'string') issues.add(`${at}[${i}]`, 'must be a string');
    else {
      warnSpaces(v, issues, `${at}[${i}]`);
      values.add(v);
    }
  });
  const shown = [...values].slice(0, 5).map((v) => JSON.stringify(v));
  return {
    op: 'in',
    describe: `is one of ${shown.join(', ')}${values.size > 5 ? ', …' : ''}`,
    test: (v) => v !== undefined && values.has(v),
  };
}

function exists(expected: boolean): CompiledMatcher {
  return {
    op: 'exists',
    describe: expected ? 'is present' : 'is absent',
    test: (v) => (v !== undefined) === expected,
  };
}

function compileRegex(
  pattern: string,
  issues: Issues,
  at: string,
  engine: RegexEngine | undefined,
): CompiledMatcher | undefined {
  if (pattern.length > MAX_REGEX_PATTERN_LENGTH) {
    return issues.add(at, `regex longer than ${MAX_REGEX_PATTERN_LENGTH} characters`);
  }
  if (!engine) {
    return issues.add(
      at,
      'regex matchers need a linear-time regex engine: pass { regex: createRe2Engine(RE2JS) } (Node and the browser regex entry do this for you)',
    );
  }
  let find: (s: string) => boolean;
  try {
    find = engine.compile(pattern);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return issues.add(at, `invalid or unsupported regex (${engine.name}): ${reason}`);
  }
  return {
    op: 'regex',
    describe: `matches /${pattern}/`,
    // RX-02/RX-03: non-strings and long subjects never reach the engine.
    test: (v) => typeof v === 'string' && v.length <= MAX_REGEX_SUBJECT_LENGTH && safeFind(find, v),
  };
}

function safeFind(find: (s: string) => boolean, v: string): boolean {
  try {
    return find(v);
  } catch {
    return false;
  }
}
