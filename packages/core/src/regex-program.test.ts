import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { GraylaneError } from './errors.js';
import { MAX_REGEX_PROGRAM_SIZE } from './limits.js';
import { parseConfig, validateConfig } from './config/parse.js';
import { decide } from './rules/evaluate.js';
import { createRe2Engine } from './regex.js';

const engine = createRe2Engine(RE2JS);

function doc(pattern: string, where: 'path' | 'header' = 'path'): unknown {
  const match =
    where === 'path'
      ? { path: { regex: pattern } }
      : { header: { 'user-agent': { regex: pattern } } };
  return {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'r', match, version: 'beta' }],
  };
}

function problems(pattern: string, where: 'path' | 'header' = 'path'): string {
  const r = validateConfig(doc(pattern, where), { regex: engine });
  return r.ok ? '' : r.errors.map((e) => e.message).join('; ');
}

// Rules people write for gray release: paths, user agents, e-mail and id shapes, locales, bots.
const WRITTEN = [
  '(?i)^/admin',
  '^/api/v[0-9]+/orders',
  '^/(de|fr|it|es|nl|pl|pt|sv|da|fi|no|cs|hu|ro|bg|el|sk|sl|hr|lt|lv|et)(/|$)',
  '(?i)(googlebot|bingbot|yandexbot|baiduspider|duckduckbot|slurp|facebookexternalhit|twitterbot|linkedinbot|applebot)',
  'Chrome/1[2-9][0-9]\\.',
  '^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$',
  '(?i)^(qa|staff|tester)[0-9]*@example\\.com$',
  '(?i)iphone|ipad|android.*mobile',
  '^10\\.(0|1|2)\\.[0-9]{1,3}\\.[0-9]{1,3}$',
  '(?i)^Mozilla/5\\.0 \\((Windows NT 10\\.0|Macintosh; Intel Mac OS X 1[0-5]_[0-9]+)[^)]*\\) AppleWebKit/[0-9.]+ \\(KHTML, like Gecko\\) (Chrome|Version)/[0-9.]+',
  '^user-[0-9]{1,12}$',
  '[A-Z]{2}-[0-9]{5}',
  '^/checkout(/.*)?$',
  '(?i)^(beta|canary|preview)-',
  '\\p{Han}+',
  '^(a+)+$',
  '(a|a)*$',
  '.*x.*y',
  '[a-z]{500}',
  'x{998}',
];

// Counted repetitions that copy their group hundreds of times, each under 256 characters.
const COPIED = [
  '(\\w+\\W+){1,200}',
  '(?i)\\b(\\w+\\W+){1,200}end\\b',
  'x{999}',
  'x{1000}',
  '(a{1,100}){1,10}',
  '(?i)(abc|def){300}',
  '(.*){1,1000}',
  '\\pL{1,1000}',
  '(?s).{1,1000}',
  '((a|b){1,30}){1,30}',
  '[^x]{2,999}',
  '(\\d{1,3}\\.){1,300}',
  '(?i)^/admin{1,1000}',
  '(ab){500}',
  '(\\w?\\W?\\d?\\s?[a-z]?[A-Z]?.?){1,1000}$',
  '(?i)(\\w+\\s*[-/,.]?\\s*\\w*\\W*\\d*\\s*){1,1000}z$',
];

describe('CFG-10 regex program size', () => {
  it('the installed re2js exposes the program size the cap reads (a release that moved it would lift the cap silently)', () => {
    const re = RE2JS.compile('x{10}') as unknown as { re2Input: { prog: { inst: unknown[] } } };
    expect(re.re2Input.prog.inst.length).toBe(12);
  });

  it.each(WRITTEN)('CFG-10 a rule as people write it loads: %s', (pattern) => {
    expect(problems(pattern)).toBe('');
    expect(problems(pattern, 'header')).toBe('');
  });

  it.each(COPIED)(
    'CFG-10 a repetition that compiles past the cap is rejected at load: %s',
    (pattern) => {
      expect(pattern.length).toBeLessThanOrEqual(256);
      const text = problems(pattern);
      expect(text).toMatch(
        /invalid or unsupported regex \(re2js\): \d+ instructions once compiled, over 1000/,
      );
      expect(problems(pattern, 'header')).toMatch(/instructions once compiled, over 1000/);
      expect(() => parseConfig(doc(pattern), { regex: engine })).toThrow(GraylaneError);
    },
  );

  it('CFG-10 the cap is exact: 1000 instructions load, 1001 do not', () => {
    expect(MAX_REGEX_PROGRAM_SIZE).toBe(1000);
    expect(problems('x{998}')).toBe('');
    expect(problems('x{999}')).toMatch(/1001 instructions once compiled/);
  });

  it('CFG-10 a rejected document leaves nothing half-loaded: the whole document is refused', () => {
    const r = validateConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          { id: 'ok', match: { path: { regex: '^/ok' } }, version: 'beta' },
          { id: 'big', match: { path: { regex: '(ab){500}' } }, version: 'beta' },
        ],
      },
      { regex: engine },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path)).toEqual(['$.rules[1].match.path.regex']);
  });

  it('CFG-10 a regex library without a readable program size is taken as it compiles (documented)', () => {
    const plain = createRe2Engine({ compile: (p) => ({ test: (s: string) => s.includes(p) }) });
    const c = parseConfig(doc('x{1000}'), { regex: plain });
    expect(decide(c, { path: '/x{1000}' }).version).toBe('beta');
  });

  it('CFG-10 rules under the cap still match as before', () => {
    const c = parseConfig(doc('^/(ab){120}$'), { regex: engine });
    expect(decide(c, { path: `/${'ab'.repeat(120)}` }).version).toBe('beta');
    expect(decide(c, { path: `/${'ab'.repeat(119)}` }).version).toBe('stable');
  });
});
