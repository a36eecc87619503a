import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { validateConfig } from './config/parse.js';
import { MAX_REGEX_DOCUMENT_SIZE, MAX_REGEX_PROGRAM_SIZE } from './limits.js';
import { MAX_REGEX_REFUSALS_CACHED } from './limits.js';
import { createRe2Engine, type Re2jsLike } from './regex.js';

// RX-06 (I4, review 75 D1): checking a document's regexes is bounded work. Work is counted, not
// timed: the instructions re2js builds for graylane, and the patterns it is asked to read.

const instructionsOf = (re: unknown) =>
  (re as { re2Input: { prog: { inst: unknown[] } } }).re2Input.prog.inst.length;
const size = (pattern: string) => instructionsOf(RE2JS.compile(pattern));

/** RE2JS, counting what graylane asks of it; the empty pattern (asked once, to learn whether programs tell their size) apart. */
function counting(): { re2js: Re2jsLike; calls: () => number; built: () => number } {
  let calls = 0;
  let built = 0;
  return {
    re2js: {
      compile: (p: string) => {
        if (p !== '') calls++;
        const re = RE2JS.compile(p);
        if (p !== '') built += instructionsOf(re);
        return re;
      },
    },
    calls: () => calls,
    built: () => built,
  };
}

const doc = (patterns: readonly string[]) => ({
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: patterns.map((regex, i) => ({
    id: `r${i}`,
    match: i % 2 === 0 ? { path: { regex } } : { header: { 'user-agent': { regex } } },
    version: 'beta',
  })),
});
const errorsOf = (d: unknown, re2js: Re2jsLike) => {
  const r = validateConfig(d, { regex: createRe2Engine(re2js) });
  return r.ok ? [] : r.errors.map((e) => e.message);
};

const pairs = (n: number) => {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: n }, (_, i) => letters[i]! + letters[(i + 1) % n]!).join('|');
};

// Patterns of at most 256 characters whose programs are far over the cap. Before, re2js built
// each program (up to 50,000 instructions, seconds on a loaded machine) only for graylane to
// refuse it; now none is built.
const REFUSED: [name: string, pattern: string][] = [
  ['review 75: \\pL{1,999} 25 times', '\\pL{1,999}'.repeat(25)],
  ['review 75: sequenced classes', '[a-z]{1,999}[0-9]{1,999}'],
  ['sequenced runes', 'a{1,999}b{1,999}c{1,999}'],
  ['sequenced Perl classes', '\\d{999}\\w{999}\\s{999}'],
  ['nested counted repetitions', '((a{1,10}){1,10}){1,10}'],
  ['nested fixed repetitions of a big class', '(?:(?:\\pL{2}){10}){50}'],
  ['nested captures', '(x{1,30}){1,30}'],
  ['a script class', '\\p{Greek}{1000}'],
  ['a bracket of Unicode classes', '[\\p{L}\\p{N}\\p{P}]{1,999}'],
  ['a negated Unicode class', '[^\\pL]{1,999}'],
  ['a negated category', '\\PL{1,999}\\PN{1,999}'],
  ['POSIX classes', '[[:alpha:]][[:^digit:]]{1,999}'],
  ['dot, single-line', '(?s).{1,999}'],
  ['alternatives of repetitions', '(?:a{999}|b{999}|c{999})'],
  ['alternatives without a common prefix, repeated', `(?:${pairs(60)}){300}`],
  ['alternatives, repeated with a tail', '(?:x{1,500}|y{1,500})z{1,500}'],
  ['words, repeated', '(foo|bar|baz){400}'],
  [
    'alternatives that begin alike inside alternatives, repeated',
    `(?:${Array.from('bcdefghijklmnopqrs', (c, i) => `a(?:${c}${'cdefghijklmnopqrstu'[i]}|${c}${'defghijklmnopqrstuv'[i]})x`).join('|')}){240}`,
  ],
  ['folded words, repeated', '(?i)(abc|def){300}'],
  ['folded k (K, k and the Kelvin sign)', '(?i)k{1,999}'],
  ['folded non-ASCII', '(?i:é){1000}'],
  ['folded class', '(?i)[a-z]{1,999}'],
  ['folded Unicode classes', '(?i)\\pL{1,500}\\pN{1,500}'],
  ['optional copies', '(?:a?){1,999}'],
  ['starred copies', '(?:a*b){1,999}'],
  ['assertions, repeated', '(?:^|\\b){1,999}'],
  ['captures of nothing, repeated', '(){1,999}'],
  ['a class that holds the last rune', '[\\x{10FFFF}]{1,999}'],
  ['a negated class that leaves one rune', '[^\\x00-\\x{DFFF}\\x{E001}-\\x{10FFFF}]{1,999}'],
  ['quoted text, repeated', '\\Qa.b\\E{1,999}'],
  ['escapes', '\\x{1F600}{1000}\\n'],
  ['named groups', '(?P<a>x{999})(?<b>y)'],
  ['the unbounded form', 'x{1000,}'],
  ['lazy forms', 'x{1,999}?y*?'],
];

// Patterns at or under the cap, or whose program is no bigger than a handful of instructions
// because a class is empty or alternatives factor: the bound must let them through to re2js,
// which accepts them as before.
const ACCEPTED: [name: string, pattern: string][] = [
  ['the cap exactly', 'x{998}'],
  ['an empty class makes nothing of its repetitions', '[^\\x00-\\x{10FFFF}]{1,999}'.repeat(9)],
  ['\\P{Any} repeated', '\\P{Any}{1000}\\P{Any}{1000}'],
  ['\\p{^Any} in a concatenation', 'x{999}\\p{^Any}'],
  ['an empty alternative dropped', '(?:\\P{Any}x{999}|y)'],
  ['an empty bracket of Unicode classes', '[^\\pL\\PL]{1,999}'],
  ['common prefixes factor', '(?:abcd|abce|abcf|abcg){150}'],
  ['a common repeated class factors', '(?:a{4}b|a{4}c){150}'],
  ['one-rune alternatives merge into a class', '(?:a|b|c|d|e|f|g|h){998}'],
  ['folded one-rune alternatives merge', '(?i)(?:a|A|b|B){998}'],
  ['x{0} is nothing', '(?:x{999}){0}y{900}'],
  ['an empty group, repeated', '(?:){1000}a{900}'],
  [
    'a rule as people write it',
    '^/(de|fr|it|es|nl|pl|pt|sv|da|fi|no|cs|hu|ro|bg|el|sk|sl|hr|lt|lv|et)(/|$)',
  ],
  ['a rule as people write it, folded', '(?i)^(qa|staff|tester)[0-9]*@example\\.com$'],
];

describe('RX-06 a regex whose program is surely over the cap is refused before re2js builds it', () => {
  it.each(REFUSED)('%s: refused, no instruction built', (_, pattern) => {
    expect(pattern.length).toBeLessThanOrEqual(256);
    const spy = counting();
    const errors = errorsOf(doc([pattern]), spy.re2js);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(`\\d+ instructions once compiled, over ${MAX_REGEX_PROGRAM_SIZE}`),
    );
    expect(spy.built()).toBe(0);
  });

  it.each(ACCEPTED)('(control) %s: accepted, as re2js sizes it', (_, pattern) => {
    expect(size(pattern)).toBeLessThanOrEqual(MAX_REGEX_PROGRAM_SIZE);
    const spy = counting();
    expect(errorsOf(doc([pattern]), spy.re2js)).toEqual([]);
    expect(spy.calls()).toBe(1);
  });

  it('a re2js that does not tell program sizes is asked once whether it does (the empty pattern), then taken as it compiles', () => {
    let calls = 0;
    const plain: Re2jsLike = {
      compile: (p) => (calls++, { test: (s: string) => s.includes(p) }),
    };
    const engine = createRe2Engine(plain);
    expect(validateConfig(doc(['x{1000}', 'y{1000}']), { regex: engine }).ok).toBe(true);
    expect(calls).toBe(3);
  });
});

describe('RX-06 a document compiles no regex once what its regexes stand for passes its budget', () => {
  const variant = (pattern: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${pattern}(?:${i})?`);

  it.each([
    ['review 75 D1 (8 rules, 2,779 bytes)', '\\pL{1,999}'.repeat(25), 8],
    ['review 75 D1 (1,000 rules, 103 KB)', '[a-z]{1,999}[0-9]{1,999}', 1000],
    ['1,000 rules of nested repetitions', '((a{1,10}){1,10}){1,10}', 1000],
  ])('%s: every rule refused, no program built', (_, pattern, n) => {
    const spy = counting();
    const errors = errorsOf(doc(variant(pattern, n)), spy.re2js);
    expect(errors).toHaveLength(n);
    expect(errors[0]).toMatch(/\d+ instructions once compiled, over 1000 \(at least/);
    if (n > 1) expect(errors.at(-1)).toMatch(/not compiled: .* over 5000, and it is refused/);
    expect(spy.built()).toBe(0);
  });

  // Alternatives the bound counts a little low: each program is built and found too large.
  const CLOSE = '(?:ab|ba|ca|da){110}';
  it('patterns the bound lets through that compile over the cap: re2js builds a few, not 1,000', () => {
    expect(size(CLOSE)).toBeGreaterThan(MAX_REGEX_PROGRAM_SIZE);
    const spy = counting();
    const errors = errorsOf(doc(variant(CLOSE, 1000)), spy.re2js);
    expect(errors).toHaveLength(1000);
    expect(spy.built()).toBeLessThanOrEqual(MAX_REGEX_DOCUMENT_SIZE + 2 * size(CLOSE));
    expect(spy.calls()).toBeLessThanOrEqual(
      Math.ceil(MAX_REGEX_DOCUMENT_SIZE / MAX_REGEX_PROGRAM_SIZE) + 1,
    );
  });

  it('patterns re2js cannot read count their length: 1,000 of them are not all read', () => {
    const bad = variant(`(?i)${'\\pL'.repeat(80)}(`, 1000);
    const spy = counting();
    const errors = errorsOf(doc(bad), spy.re2js);
    expect(errors).toHaveLength(1000);
    expect(errors[0]).toMatch(/missing closing \)/);
    expect(spy.calls()).toBeLessThanOrEqual(
      Math.ceil(MAX_REGEX_DOCUMENT_SIZE / bad[0]!.length) + 1,
    );
  });

  it('programs that fit, past the document total: the next one is refused and no more are built', () => {
    const list = variant('^/p-[a-z]{0,300}', 60); // about 600 instructions each
    let n = 0;
    for (let total = 0; total + size(list[n]!) <= MAX_REGEX_DOCUMENT_SIZE; n++)
      total += size(list[n]!);
    const spy = counting();
    const errors = errorsOf(doc(list), spy.re2js);
    expect(errors).toHaveLength(list.length - n);
    expect(errors[0]).toMatch(/total \d+ instructions, over 5000/);
    expect(spy.calls()).toBe(n + 1);
  });

  it('(control) a document within its budget compiles every regex, whatever their number', () => {
    const list = variant('^/x', 450);
    expect(list.reduce((t, p) => t + size(p), 0)).toBeLessThanOrEqual(MAX_REGEX_DOCUMENT_SIZE);
    const spy = counting();
    expect(errorsOf(doc(list), spy.re2js)).toEqual([]);
    expect(spy.calls()).toBe(list.length);
  });
});

describe('RX-06 refusals are remembered by pattern, a bounded number of them', () => {
  it('a source polling the same rejected document: re2js reads its patterns once', () => {
    const spy = counting();
    const engine = createRe2Engine(spy.re2js);
    const rejected = doc(['(?:ab|ba|ca|da){110}', '(beta', '^/ok', '^(?=a)b$']);
    const first = validateConfig(rejected, { regex: engine });
    const calls = spy.calls();
    expect(calls).toBe(4);
    for (let i = 0; i < 20; i++) {
      const again = validateConfig(rejected, { regex: engine });
      expect(again).toEqual(first);
    }
    // '^/ok' compiled again each time: no config holds its program. The refusals were not.
    expect(spy.calls()).toBeLessThanOrEqual(calls + 20);
  });

  it(`holds at most ${MAX_REGEX_REFUSALS_CACHED}: the oldest is read again`, () => {
    const spy = counting();
    const engine = createRe2Engine(spy.re2js);
    const bad = Array.from({ length: MAX_REGEX_REFUSALS_CACHED + 1 }, (_, i) => `(x${i}`);
    for (const p of bad) expect(() => engine.compile(p)).toThrow(/missing closing \)/);
    expect(spy.calls()).toBe(bad.length);
    for (const p of bad.slice(1)) expect(() => engine.compile(p)).toThrow(/missing closing \)/);
    expect(spy.calls()).toBe(bad.length);
    expect(() => engine.compile(bad[0]!)).toThrow(/missing closing \)/);
    expect(spy.calls()).toBe(bad.length + 1);
  });

  it('(control) a pattern longer than any rule holds is not remembered', () => {
    const spy = counting();
    const engine = createRe2Engine(spy.re2js);
    const long = `(${'x'.repeat(300)}`;
    for (let i = 0; i < 3; i++) expect(() => engine.compile(long)).toThrow();
    expect(spy.calls()).toBe(3);
  });
});
