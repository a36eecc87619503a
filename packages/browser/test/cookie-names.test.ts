// @vitest-environment happy-dom
import { isGraylaneError } from '@graylane/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GrayCookieOptions, GrayOptions } from '../src/index.js';
import { at, clearCookies, initOnReload as initGray } from './page.js';

// BC: the cookie base names (`cookie.name`, `cookie.anonymousIdName`). js-cookie percent-encodes
// every character of a name but an RFC 6265 token's (and `%` too), and graylane reads names raw,
// so any other name was written encoded and never read back: the assignment, the anonymous id
// and a QA choice silently never persisted (measured in Chromium 156: `a b` is stored as
// `a%20b`, `é` as `%C3%A9`; `__Host-`/`__Secure-`/`__Http-` names are refused on http). Such a
// name is now an invalid option, thrown at init like a bad version, in a page and during SSR.
// Names are checked as graylane uses them (`'' + name`), so untyped non-strings are not singled out.

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

afterEach(() => {
  vi.unstubAllGlobals();
  clearCookies();
  at('http://localhost/');
});

/** What `fn` threw, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const BAD_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['empty', ''],
  ['a space', 'gray v2'],
  ['a leading space', ' gray'],
  ['a tab', 'a\tb'],
  ['a newline', 'a\nb'],
  ['NUL', 'a\0b'],
  ['DEL', 'a\x7fb'],
  ['`;`', 'a;b'],
  ['`=`', 'a=b'],
  ['`,`', 'a,b'],
  ['a DQUOTE', 'a"b'],
  ['a backslash', 'a\\b'],
  ['`/`', 'a/b'],
  ['`:`', 'a:b'],
  ['`<`', 'a<b'],
  ['`>`', 'a>b'],
  ['`?`', 'a?b'],
  ['`@`', 'a@b'],
  ['`[`', 'a[b'],
  ['`]`', 'a]b'],
  ['`{`', 'a{b'],
  ['`}`', 'a}b'],
  ['`(`', 'a(b'],
  ['`)`', 'a)b'],
  ['`%` (a token character js-cookie encodes)', 'a%b'],
  ['a percent-escape', 'a%41b'],
  ['non-ASCII', 'gräy'],
  ['an emoji', 'gray🚀'],
  ['a lone surrogate', 'gray\ud800'],
  ['__Host- (graylane adds the prefix)', '__Host-gray'],
  ['__host- in any case', '__hOsT-gray'],
  ['__Secure-', '__Secure-gray'],
  ['__SECURE- in any case', '__SECURE-gray'],
  ['__Http-', '__Http-gray'],
  ['__Host-Http-', '__Host-Http-gray'],
  ['longer than a 4096-byte cookie allows with its prefix and value', 'x'.repeat(4056)],
];

const GOOD_NAMES: readonly string[] = [
  'gray',
  'Gray',
  'g',
  '0',
  'my.gray.v2',
  'gray-version_2',
  "a!#$&'*+-.^_`|~z",
  '$gray',
  '~',
  '__gray',
  '__Hostile',
  'x'.repeat(4055),
];

const options = (cookie: Record<string, unknown>): GrayOptions => ({
  ...base,
  cookie: cookie as GrayCookieOptions,
});

describe('BC cookie names: a name js-cookie would encode is an invalid option', () => {
  it.each(
    (['name', 'anonymousIdName'] as const).flatMap((key) =>
      BAD_NAMES.map(([what, name]) => ({ key, what, name })),
    ),
  )('INVALID_OPTIONS at init: cookie.$key with $what', ({ key, name }) => {
    const err = thrown(() => initGray(options({ [key]: name })));
    expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
    expect(String((err as Error).message)).toContain(`initGray: invalid cookie.${key} `);
    // Nothing was written under any name.
    expect(document.cookie).toBe('');
  });

  it.each(BAD_NAMES.slice(0, 3))('during SSR too (no page): cookie.name with %s', (_what, name) => {
    vi.stubGlobal('document', undefined);
    const err = thrown(() => initGray(options({ name })));
    expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
  });

  it('`cookie: false`, names left out or null (untyped code) use the defaults', () => {
    expect(() => initGray({ ...base, cookie: false })).not.toThrow();
    expect(() => initGray(options({}))).not.toThrow();
    expect(() => initGray(options({ name: null, anonymousIdName: undefined }))).not.toThrow();
  });

  it.each(
    GOOD_NAMES.map((name) => ({ name, shown: name.length > 40 ? `x × ${name.length}` : name })),
  )(
    'a valid cookie.name round-trips: $shown is written as is and read back on the next page view',
    ({ name }) => {
      const c = initGray(options({ name }));
      expect(c.setGrayVersion('beta')).toBe(true);
      expect(document.cookie.split('; ')).toContain(`${name}=beta`);
      const next = initGray(options({ name }));
      expect([next.getGrayVersion(), next.getGrayReason()]).toEqual(['beta', 'cookie']);
    },
  );

  it.each(
    GOOD_NAMES.map((name) => ({ name, shown: name.length > 40 ? `x × ${name.length}` : name })),
  )(
    'a valid cookie.anonymousIdName round-trips: $shown keeps the same id on the next page view',
    ({ name }) => {
      const ids: string[] = [];
      const rules: GrayOptions['rules'] = ({ anonymousId }) => void ids.push(anonymousId);
      initGray({ ...options({ anonymousIdName: name, name: `v${name}`.slice(0, 4055) }), rules });
      initGray({ ...options({ anonymousIdName: name, name: `v${name}`.slice(0, 4055) }), rules });
      expect(ids).toHaveLength(2);
      expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
      expect(ids[1]).toBe(ids[0]);
      expect(document.cookie.split('; ')).toContain(`${name}=${ids[0]}`);
    },
  );
});
