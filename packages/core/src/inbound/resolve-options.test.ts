import { describe, expect, it } from 'vitest';
import { GraylaneError } from '../errors.js';
import { resolveInboundOptions } from './resolve.js';

/*
 * `sticky` and `precedence` given what they do not take (found beside review 120 D4): `sticky: 0`
 * or `'yes'` turned sticky cookies on, `null` crashed with a TypeError, and a `precedence` that is
 * not a list was iterated (a string character by character) or crashed.
 */
const config = { versions: ['stable', 'beta'], default: 'stable' };

describe('createGraylane sticky / precedence options', () => {
  const stickyJunk: [string, unknown][] = [
    ['0', 0],
    ['1', 1],
    ['NaN', Number.NaN],
    ["'yes'", 'yes'],
    ["''", ''],
    ['[]', []],
    ['[true]', [true]],
    ['a function', () => true],
    ['a symbol', Symbol('sticky')],
    ['10n', 10n],
  ];
  for (const [name, sticky] of stickyJunk)
    it(`INVALID_OPTIONS for sticky: ${name} (it never turns sticky cookies on)`, () => {
      let error: unknown;
      try {
        resolveInboundOptions({ config, sticky } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GraylaneError);
      expect(error).toMatchObject({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('sticky'),
      });
    });

  for (const [name, sticky, on] of [
    ['null', null, false],
    ['undefined', undefined, false],
    ['false', false, false],
    ['true (control)', true, true],
    ['{} (control)', {}, true],
  ] as const)
    it(`sticky: ${name} → ${on ? 'on' : 'off'}`, () => {
      const resolved = resolveInboundOptions({ config, sticky } as never);
      expect(resolved.sticky !== undefined).toBe(on);
    });

  const precedenceJunk: [string, unknown][] = [
    ["'header' (control: refused before, one character at a time)", 'header'],
    ['0', 0],
    ['{}', {}],
    ['a Set', new Set(['header'])],
    ['a function', () => ['header']],
    ["['nope'] (control)", ['nope']],
    ["['header', 'header'] (control)", ['header', 'header']],
  ];
  for (const [name, precedence] of precedenceJunk)
    it(`INVALID_OPTIONS for precedence: ${name}`, () => {
      expect(() => resolveInboundOptions({ config, precedence } as never)).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('precedence'),
        }),
      );
    });

  it('precedence: null is the default order; a list is kept (control)', () => {
    const d = resolveInboundOptions({ config, precedence: null } as never).precedence;
    expect(d).toEqual(resolveInboundOptions({ config }).precedence);
    expect(resolveInboundOptions({ config, precedence: ['cookie', 'header'] }).precedence).toEqual([
      'cookie',
      'header',
    ]);
  });
});
