/**
 * The asset gateway's request-path check, table-driven: every hostile shape is refused before
 * the file system is touched, every refusal has a reason, and nothing throws (I1, I4).
 * IDs: AST-01 (traversal), AST-02 (encodings), AST-03 (hidden and odd segments), AST-04 (bounds).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safePath } from '../../src/assets/path.js';
import { MAX_ASSET_PATH_BYTES } from '../../src/assets/limits.js';
import { fastestInterleaved } from './timing.js';
import { propertyBudget, propertyTimeout } from '../../../../tools/fc-budget.js';

const TRAVERSAL = [
  '/..',
  '/../',
  '/../etc/passwd',
  '/../../../../../../etc/passwd',
  '/a/../../etc/passwd',
  '/a/b/../../../x',
  '/stable/../beta/index.html',
  '/./index.html',
  '/a/./b',
  '/%2e%2e/etc/passwd',
  '/%2E%2E/%2e%2E/etc/passwd',
  '/.%2e/etc/passwd',
  '/%2e./etc/passwd',
  '/%2e/index.html',
  '/..%2fetc%2fpasswd',
  '/..%2Fetc/passwd',
  '/a%2f..%2f..%2fetc%2fpasswd',
  '/..%5c..%5cetc%5cpasswd',
  '/..\\..\\etc\\passwd',
  '/a\\..\\..\\b',
  '//etc/passwd',
  '///etc/passwd',
  '/a//b',
  '/a/b//',
  'http://host/../etc/passwd',
  'http://host//etc/passwd',
] as const;

const ENCODING = [
  ['/%c0%ae%c0%ae/etc/passwd', 'bad_escape'], // overlong UTF-8 dot
  ['/%c0%af', 'bad_escape'], // overlong slash
  ['/%e0%80%ae%e0%80%ae/x', 'bad_escape'],
  ['/%ff', 'bad_escape'],
  ['/%ed%a0%80', 'bad_escape'], // lone surrogate
  ['/%', 'bad_escape'],
  ['/%2', 'bad_escape'],
  ['/%zz', 'bad_escape'],
  ['/%%32%65', 'bad_escape'],
  ['/%u002e%u002e/x', 'bad_escape'], // IIS %u form
  ['/%00', 'forbidden_char'],
  ['/index.html%00.js', 'forbidden_char'],
  ['/a%0d%0aSet-Cookie:x', 'forbidden_char'],
  ['/a%09b', 'forbidden_char'],
  ['/a%7fb', 'forbidden_char'],
  ['/c:%5cwindows', 'forbidden_char'],
  ['/C:/Windows/win.ini', 'forbidden_char'],
  ['/file.txt::$DATA', 'forbidden_char'],
  ['/%ef%bc%8e%ef%bc%8e/x', 'forbidden_char'], // fullwidth dots (NFKC → ..)
  ['/%ef%bc%8fetc', 'forbidden_char'], // fullwidth solidus
  ['/%e2%88%95etc', 'forbidden_char'], // division slash
  ['/%e2%80%a4%e2%80%a4/x', 'forbidden_char'], // one dot leader
  ['/%ef%bf%bd', 'bad_escape'], // a literal U+FFFD: indistinguishable from bad UTF-8
  ['/caf\u00e9.png', 'forbidden_char'], // raw Latin-1 byte as Node hands it over
  ['/a b', 'forbidden_char'],
  ['/a\u0000b', 'forbidden_char'],
  ['/\u202e/x', 'forbidden_char'],
] as const;

const HIDDEN = [
  ['/.env', 'hidden'],
  ['/.git/config', 'hidden'],
  ['/a/.htaccess', 'hidden'],
  ['/%2eenv', 'hidden'],
  ['/.well-known/x', 'hidden'],
  ['/...', 'hidden'],
  ['/..../x', 'hidden'],
  ['/..;/x', 'hidden'],
  ['*', 'not_absolute'],
  ['', 'not_absolute'],
  ['index.html', 'not_absolute'],
  ['javascript:alert(1)', 'not_absolute'],
] as const;

describe('safePath', () => {
  it.each(TRAVERSAL.map((p) => [p]))('AST-01 traversal %j is refused', (target) => {
    const r = safePath(target);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(['dot_segment', 'empty_segment', 'forbidden_char']).toContain(r.reason);
  });

  it.each(ENCODING)('AST-02 encoding %j is refused as %s', (target, reason) => {
    expect(safePath(target)).toEqual({ ok: false, reason });
  });

  it.each(HIDDEN)('AST-03 %j is refused as %s', (target, reason) => {
    expect(safePath(target)).toEqual({ ok: false, reason });
  });

  it('AST-03 non-string targets are refused, never thrown on (I1)', () => {
    for (const t of [undefined, null, 42, {}, ['/'], Symbol('x')]) {
      expect(safePath(t as never)).toEqual({ ok: false, reason: 'not_absolute' });
    }
  });

  it.each([
    ['/', [], true],
    ['/index.html', ['index.html'], false],
    ['/index.html?x=../../etc', ['index.html'], false],
    ['/index.html#../x', ['index.html'], false],
    ['/assets/main-7QZ3X2AB.js', ['assets', 'main-7QZ3X2AB.js'], false],
    ['/docs/', ['docs'], true],
    ['/caf%C3%A9.png', ['café.png'], false],
    ['/a%20b.txt', ['a b.txt'], false],
    ['/%E7%81%B0%E5%BA%A6.js', ['灰度.js'], false],
    ['/a..b/c.d..e', ['a..b', 'c.d..e'], false],
    ['/x.;/y', ['x.;', 'y'], false],
    ['/%252e%252e/x', ['%2e%2e', 'x'], false], // decoded once: a literal name, not a dot segment
    ['http://example.com/a/b.js?q', ['a', 'b.js'], false],
    ['https://example.com', [], true],
  ] as const)('AST-01 allowed %j → %j', (target, segments, directory) => {
    expect(safePath(target)).toEqual({ ok: true, segments, directory });
  });

  it('AST-04 length is checked before decoding; depth is capped', () => {
    const long = `/${'a'.repeat(MAX_ASSET_PATH_BYTES)}`;
    expect(safePath(long)).toEqual({ ok: false, reason: 'too_long' });
    expect(safePath(`${'/%2e'.repeat(10_000)}`)).toEqual({ ok: false, reason: 'too_long' });
    // A long query does not count: it is never looked at.
    expect(safePath(`/a.js?${'x'.repeat(100_000)}`)).toEqual({
      ok: true,
      segments: ['a.js'],
      directory: false,
    });
    expect(safePath(`${'/a'.repeat(33)}`)).toEqual({ ok: false, reason: 'too_deep' });
    expect(safePath(`${'/a'.repeat(32)}`).ok).toBe(true);
  });

  it('AST-04 cost is bounded: a 1 MB hostile target costs about what a 2 KB one does', () => {
    const small = `/${'%2e'.repeat(600)}`;
    const huge = `/${'%2e'.repeat(350_000)}`;
    const [tSmall = 0, tHuge = 0] = fastestInterleaved(
      [small, huge].map((t) => () => safePath(t)),
      11,
      200,
    );
    // Generous margin for a loaded machine: the huge target is cut at 2 KiB before any work;
    // scanning it would cost ~580×.
    expect(tHuge).toBeLessThan(tSmall * 20 + 10);
  });

  it(
    'I1 AST-01 property: any string → never throws; an accepted path has only safe segments',
    () => {
      const hostile = fc.constantFrom(
        '..',
        '.',
        '%2e',
        '%2E',
        '%2f',
        '%5c',
        '\\',
        '/',
        '%00',
        '%c0%ae',
        ':',
        '%',
        '?',
        '#',
        'a',
        'é',
        '%C3%A9',
      );
      const target = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 64 }),
        fc.array(hostile, { maxLength: 12 }).map((parts) => `/${parts.join('')}`),
        fc
          .array(fc.oneof(hostile, fc.string({ maxLength: 4 })), { maxLength: 8 })
          .map((parts) => parts.join('/')),
      );
      fc.assert(
        fc.property(target, (t) => {
          const r = safePath(t);
          if (!r.ok) return;
          for (const s of r.segments) {
            expect(s).not.toBe('');
            expect(s).not.toBe('.');
            expect(s).not.toBe('..');
            expect(s.startsWith('.')).toBe(false);
            expect(/[/\\:]/.test(s) || s.includes('\u0000')).toBe(false);
          }
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );
});
