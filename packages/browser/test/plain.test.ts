import { describe, expect, it } from 'vitest';
import { asPlain, isPlain, PLAIN, plainNextXhr, takePlainXhr } from '../src/plain.js';

// graylane's own plain re-send is recognised by the hook under it, and by nothing else: the
// synchronous window closes on return and on a throw, an init is plain only with the registered
// symbol, and the XHR flag is taken by one open() and never outlives its microtask.
describe('plain re-send markers (RDR-03 stacked hooks)', () => {
  it('asPlain: plain inside, not after a return or a throw, nested windows close in order', () => {
    expect(isPlain()).toBe(false);
    expect(asPlain(() => isPlain())).toBe(true);
    expect(isPlain()).toBe(false);
    expect(() =>
      asPlain(() => {
        throw new Error('x');
      }),
    ).toThrow('x');
    expect(isPlain()).toBe(false);
    asPlain(() => {
      asPlain(() => expect(isPlain()).toBe(true));
      expect(isPlain()).toBe(true);
    });
    expect(isPlain()).toBe(false);
  });

  it('a promise the window returns settles outside it', async () => {
    const seen = await asPlain(() => Promise.resolve().then(() => isPlain()));
    expect(seen).toBe(false);
  });

  it.each([
    ['undefined', undefined, false],
    ['null', null, false],
    ['a string', 'x', false],
    ['a number', 1, false],
    ['a plain init', { method: 'GET' }, false],
    ['an init with the symbol', { [PLAIN]: true }, true],
    ['the symbol by its registered name', { [Symbol.for('graylane.plain')]: true }, true],
    ['the symbol set to false', { [PLAIN]: false }, false],
    ['an inherited symbol', Object.create({ [PLAIN]: true }) as object, true],
    ['a string key of the same name', { 'graylane.plain': true }, false],
  ])('isPlain(%s) is %s', (_n, init, expected) => {
    expect(isPlain(init)).toBe(expected);
  });

  it('plainNextXhr is taken by one open() only', () => {
    plainNextXhr();
    expect(takePlainXhr()).toBe(true);
    expect(takePlainXhr()).toBe(false);
  });

  it('an untaken plainNextXhr is gone after its microtask; a later request is not plain', async () => {
    plainNextXhr();
    await Promise.resolve();
    await Promise.resolve();
    expect(takePlainXhr()).toBe(false);
    expect(isPlain()).toBe(false);
  });

  it('plainNextXhr does not make fetch requests plain', () => {
    plainNextXhr();
    expect(isPlain()).toBe(false);
    expect(isPlain({})).toBe(false);
    takePlainXhr();
  });
});
