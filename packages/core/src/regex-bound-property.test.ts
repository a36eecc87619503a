import fc from 'fast-check';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { MAX_REGEX_PROGRAM_SIZE } from './limits.js';
import { createRe2Engine } from './regex.js';
import { programSizeAtLeast } from './regex-bound.js';

// RX-06: the bound graylane reads off a pattern's syntax never exceeds the program re2js builds,
// so a pattern is never refused for a size its program does not have.

const sizeOf = (pattern: string): number | undefined => {
  try {
    const re = RE2JS.compile(pattern) as unknown as { re2Input: { prog: { inst: unknown[] } } };
    return re.re2Input.prog.inst.length;
  } catch {
    return undefined;
  }
};

// What re2js's parser and simplifier treat specially: runes and their cases (K, k and the Kelvin
// sign fold together), escapes, quoting, classes that are empty, one rune, a rune and its case, or
// that hold the runes the bound uses as witnesses; assertions; a literal `{`.
const RUNES = ['a', 'a', 'b', 'c', 'A', 'B', 'k', 'K', 's', 'é', 'É', '\u212A', '\u017F', '0', '-'];
const ESCAPES = [
  '\\.',
  '\\*',
  '\\(',
  '\\[',
  '\\{',
  '\\|',
  '\\\\',
  '\\n',
  '\\x41',
  '\\x{1F600}',
  '\\101',
  '😀',
];
const QUOTED = ['\\Qab\\E', '\\Qa*\\E', '\\Q\\E', '{', '{,2}', '{01}', ']', '}'];
const CLASSES = [
  '[abc]',
  '[a-c]',
  '[^a]',
  '[ab]',
  '[a]',
  '[Aa]',
  '[Kk]',
  '[aA]',
  '[-a]',
  '[a-]',
  '[]a]',
  '[^]a]',
  '[\\x{100}-\\x{101}]',
  '[^\\n]',
  '.',
  '\\d',
  '\\D',
  '\\w',
  '[\\d\\s]',
  '[[:alpha:]]',
  '[[:^alpha:]]',
  '\\pL',
  '\\PL',
  '\\p{Greek}',
  '\\p{Co}',
  '\\pC',
  '\\P{C}',
  '\\p{Zl}',
  '\\p{Any}',
  '\\P{Any}',
  '\\p{^Any}',
  '[\\P{Any}]',
  '[^\\P{Any}]',
  '[^\\pL\\PL]',
  '[^\\p{Co}\\p{Cn}]',
  '[^\\x00-\\x{10FFFF}]',
  '[\\x{E000}-\\x{10FFFF}]',
  '[^\\x{E000}\\x{10FFFF}]',
  '[\\x{10FFFF}]',
  '[^\\x00-\\x{10FFFE}]',
  '[^\\x00-\\x{DFFF}\\x{E001}-\\x{10FFFF}]',
];
const ASSERTIONS = ['^', '$', '\\b', '\\B', '\\A', '\\z'];
const REPEATS = [
  '*',
  '+',
  '?',
  '*?',
  '{0}',
  '{1}',
  '{2}',
  '{3}',
  '{0,}',
  '{2,}',
  '{0,2}',
  '{1,3}',
  '{2,5}?',
  '{3,9}',
];

const { pattern } = fc.letrec<{ pattern: string; piece: string; alternation: string }>((tie) => ({
  pattern: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('piece'),
    fc.array(tie('piece'), { minLength: 2, maxLength: 4 }).map((p) => p.join('')),
    tie('alternation'),
  ),
  piece: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...RUNES, ...ESCAPES, ...QUOTED, ...CLASSES, ...ASSERTIONS),
    fc.tuple(tie('piece'), fc.constantFrom(...REPEATS)).map(([p, r]) => `(?:${p})${r}`),
    fc
      .tuple(fc.constantFrom('(', '(?:', '(?i:', '(?-i:', '(?P<g>'), tie('pattern'))
      .map(([open, p]) => `${open}${p})`),
    fc
      .tuple(fc.constantFrom('(?i)', '(?-i)', '(?s)', '(?:)', '()'), tie('piece'))
      .map(([f, p]) => f + p),
    fc.constantFrom(...RUNES, ...CLASSES).map((c) => `${c}${c}`),
  ),
  // Alternatives with a shared lead, as factoring finds them.
  alternation: fc
    .tuple(
      fc.oneof(fc.constant(''), tie('piece')),
      fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.constant(''), tie('pattern'))), {
        minLength: 2,
        maxLength: 5,
      }),
    )
    .map(([lead, alts]) => `(?:${alts.map(([shared, p]) => (shared ? lead : '') + p).join('|')})`),
}));

// Alternatives that share a lead and end in alternatives of their own: factoring takes the lead
// out and merges the inner alternatives with the others (`a(?:bc|de)|ade` is `a(?:bc|de|de)`).
const POOL = [
  'bc',
  'de',
  'b',
  'd',
  'bd',
  '[bc]',
  'b{2}',
  'c',
  '',
  '(x)',
  'x*',
  '\\P{Any}',
  '(?i:b)',
];
const LEADS = ['a', 'ab', '', '[ab]', 'a{2}', '(?i:a)', '(?:a)'];
const { nested } = fc.letrec<{ nested: string; inner: string }>((tie) => ({
  inner: fc
    .array(
      fc.oneof(
        fc.constantFrom(...POOL),
        fc.tuple(fc.constantFrom(...LEADS), tie('inner')).map(([l, g]) => l + g),
      ),
      {
        minLength: 2,
        maxLength: 4,
      },
    )
    .map((a) => `(?:${a.join('|')})`),
  nested: fc
    .array(
      fc
        .tuple(
          fc.constantFrom(...LEADS),
          fc.oneof(tie('inner'), fc.constantFrom(...POOL)),
          fc.constantFrom('', '', 'x'),
        )
        .map((t) => t.join('')),
      { minLength: 2, maxLength: 5 },
    )
    .map((a) => a.join('|')),
}));

describe('RX-06 the size bound never exceeds the program re2js builds', () => {
  it('property: for every pattern re2js compiles, the bound is at most its size, and the engine refuses it only over the cap', () => {
    const engine = createRe2Engine(RE2JS);
    fc.assert(
      fc.property(pattern, (p) => {
        let named = 0;
        const q = p.replace(/\(\?P<g>/g, () => `(?P<g${named++}>`);
        const size = sizeOf(q);
        if (size === undefined) return;
        const bound = programSizeAtLeast(q);
        if (bound !== undefined) expect(bound).toBeLessThanOrEqual(size);
        if (size <= MAX_REGEX_PROGRAM_SIZE) expect(() => engine.compile(q)).not.toThrow();
        else expect(() => engine.compile(q)).toThrow(/instructions once compiled/);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: alternatives ending in alternatives that factoring merges with the others', () => {
    fc.assert(
      fc.property(nested, (p) => {
        const size = sizeOf(p);
        if (size === undefined) return;
        const bound = programSizeAtLeast(p);
        if (bound !== undefined) expect(bound).toBeLessThanOrEqual(size);
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['x{998}', 1000, 1000],
    ['\\pL{1,999}', 1998, 1999],
    ['(?:(?:\\pL{2}){10}){50}', 1002, 1002],
    ['abc|abd', 5, 5],
    ['(?i)(?:a|A|b|B){998}', 1000, 1000],
    ['(?:a{4}b|a{4}c){150}', 752, 752],
    ['(?:ab|ba|ca|da){110}', 882, 1212],
    ['a(?:bc|de)|ade', 7, 8],
    ['abd|(?:a)(?:bc|de)', 7, 8],
    ['x(?:ab|ac)y|xabz', 6, 9],
    ['[^\\x00-\\x{10FFFF}]{1,999}', 2, 2],
    ['x{999}\\p{^Any}', 2, 2],
  ])('%s: bound %i, program %i', (p, bound, size) => {
    expect(sizeOf(p)).toBe(size);
    expect(programSizeAtLeast(p)).toBe(bound);
  });

  it.each([
    '(beta',
    'a**',
    '(?=a)',
    '\\1',
    '(a{500}){3}',
    '[a',
    'a)',
    '(?P<1',
    '\\p{',
    '\\x{110000}',
  ])('(control) %s: re2js refuses it while parsing; the bound leaves it to re2js', (p) => {
    expect(sizeOf(p)).toBeUndefined();
    expect(programSizeAtLeast(p)).toBeUndefined();
  });
});
