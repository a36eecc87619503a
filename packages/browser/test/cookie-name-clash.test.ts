// @vitest-environment happy-dom
import { isGraylaneError } from '@graylane/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CookieJarLike, GrayCookieOptions, GrayOptions } from '../src/index.js';
import { at, clearCookies, initOnReload as initGray } from './page.js';

// BC-04 for the two cookies of `initGray`: `cookie.name` (the version, default `gray`) and
// `cookie.anonymousIdName` (the anonymous id, default `gray_aid`) must be two cookies. With one
// base name (set on both, or one option set to the other's default) both slots wrote the same
// cookie — both get the same `__Host-`/`__Secure-` prefix on https — so each write overwrote
// the other: the anonymous id was read back as an invalid version (the QA choice and the sticky
// assignment were dropped) and the version as an invalid id (a new id every page view, a new
// split bucket). Such options now throw INVALID_OPTIONS at init, in a page and during SSR, like
// the names test/cookie-names.test.ts refuses. Names are compared as written: cookies are
// case-sensitive (RFC 6265 §5.3, Chromium) and graylane never changes a name's case, so `Gray`
// and `gray` are two cookies (controls below).

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

afterEach(() => {
  vi.unstubAllGlobals();
  // The https rows' `__Host-` cookies are Secure: expired from an https page, Secure.
  at('https://localhost/');
  for (const pair of document.cookie.split('; ').filter(Boolean))
    document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure`;
  at('http://localhost/');
  clearCookies();
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

const options = (cookie: GrayCookieOptions): GrayOptions => ({ ...base, cookie });

/** Cookie options whose two names are one cookie. */
const CLASHES: ReadonlyArray<readonly [string, GrayCookieOptions, string]> = [
  ['both set to one name', { name: 'ab', anonymousIdName: 'ab' }, 'ab'],
  ['both set to `gray`', { name: 'gray', anonymousIdName: 'gray' }, 'gray'],
  ['both set to `gray_aid`', { name: 'gray_aid', anonymousIdName: 'gray_aid' }, 'gray_aid'],
  ['anonymousIdName = the default name `gray`', { anonymousIdName: 'gray' }, 'gray'],
  ['name = the default anonymousIdName `gray_aid`', { name: 'gray_aid' }, 'gray_aid'],
  ['token punctuation', { name: "a!#$&'*+-.^_`|~z", anonymousIdName: "a!#$&'*+-.^_`|~z" }, ''],
  ['the longest name', { name: 'x'.repeat(4055), anonymousIdName: 'x'.repeat(4055) }, ''],
  ['with a domain', { name: 'g', anonymousIdName: 'g', domain: 'localhost' }, 'g'],
];

/** Where `initGray` runs: the prefix both names would get. */
const PAGES: ReadonlyArray<readonly [string, string | undefined]> = [
  ['http page (no prefix)', 'http://localhost/'],
  ['https page (__Host- / __Secure- with domain)', 'https://localhost/'],
  ['SSR (no document, no location)', undefined],
];

function expectClash(err: unknown, shown: string): void {
  expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
  const message = String((err as Error).message);
  // Names both options, and the name when it is short enough to be useful.
  expect(message).toContain('initGray: invalid cookie.name = cookie.anonymousIdName ');
  if (shown) expect(message).toContain(`"${shown}"`);
}

describe('BC-04 cookie names: cookie.name and cookie.anonymousIdName must be two cookies', () => {
  it.each(
    PAGES.flatMap(([where, url]) =>
      CLASHES.map(([what, cookie, shown]) => ({ where, url, what, cookie, shown })),
    ),
  )('INVALID_OPTIONS at init, $where: $what', ({ url, cookie, shown }) => {
    if (url) at(url);
    else {
      vi.stubGlobal('document', undefined);
      vi.stubGlobal('location', undefined);
    }
    const onAssign = vi.fn();
    const err = thrown(() => initGray({ ...options(cookie), onAssign }));
    expectClash(err, shown);
    expect(onAssign).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
    // Nothing was written under any name.
    expect(document.cookie).toBe('');
  });

  it.each(CLASHES)(
    'INVALID_OPTIONS with a `cookies` jar of your own too: %s',
    (_what, cookie, shown) => {
      const jar = new Map<string, string>();
      const cookies: CookieJarLike = {
        get: (name) => jar.get(name),
        set: (name, value) => void jar.set(name, value),
        remove: (name) => void jar.delete(name),
      };
      expectClash(
        thrown(() => initGray({ ...options(cookie), cookies, rules: () => undefined })),
        shown,
      );
      expect([...jar]).toEqual([]);
    },
  );

  it('with a clash and a split, nothing is assigned and no id is made', () => {
    const rules = vi.fn(() => undefined);
    expectClash(
      thrown(() => initGray({ ...options({ name: 'gray_aid' }), rules })),
      'gray_aid',
    );
    expect(rules).not.toHaveBeenCalled();
  });

  // Controls: already refused by the name check (512eedd), not by the clash check; they threw
  // on the old source too.
  it.each<{ what: string; cookie: GrayCookieOptions; key: string }>([
    {
      what: 'name with the __Host- graylane adds',
      cookie: { name: '__Host-gray', anonymousIdName: 'gray' },
      key: 'name',
    },
    {
      what: 'anonymousIdName with __Host-',
      cookie: { anonymousIdName: '__Host-gray' },
      key: 'anonymousIdName',
    },
    {
      what: 'anonymousIdName with __Secure-',
      cookie: { name: 'g', anonymousIdName: '__Secure-g' },
      key: 'anonymousIdName',
    },
    {
      what: 'both prefixed alike',
      cookie: { name: '__Host-g', anonymousIdName: '__Host-g' },
      key: 'name',
    },
  ])('control (name check): $what → INVALID_OPTIONS for cookie.$key', ({ cookie, key }) => {
    at('https://localhost/');
    const err = thrown(() => initGray(options(cookie)));
    expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
    expect(String((err as Error).message)).toContain(`initGray: invalid cookie.${key} "__`);
  });

  // Controls: two cookies, accepted. Each keeps its value over a reload on http and https: the
  // QA choice is read back as the version and the anonymous id stays the same.
  it.each(
    (
      [
        ['the defaults', {}],
        ['`cookie: false` (nothing persisted)', false],
        ['case differs (Gray / gray)', { name: 'Gray', anonymousIdName: 'gray' }],
        ['case differs (default gray / GRAY_AID)', { anonymousIdName: 'GRAY_AID' }],
        ['case differs (GRAY_aid / default gray_aid)', { name: 'GRAY_aid' }],
        ['the defaults swapped', { name: 'gray_aid', anonymousIdName: 'gray' }],
        ['one name a prefix of the other', { name: 'gray', anonymousIdName: 'gray_' }],
        ['one name a prefix-like of the other', { name: 'gray', anonymousIdName: '__gray' }],
        ['name set, anonymousIdName default', { name: 'my_gray' }],
        ['anonymousIdName set, name default', { anonymousIdName: 'my_aid' }],
      ] as const
    ).flatMap(([what, cookie]) =>
      ['http://localhost/', 'https://localhost/'].map((url) => ({ what, cookie, url })),
    ),
  )('control: $what on $url is accepted and both values persist', ({ cookie, url }) => {
    at(url);
    const ids: string[] = [];
    const o: GrayOptions = {
      ...base,
      cookie: cookie as GrayCookieOptions | false,
      rules: ({ anonymousId }) => (ids.push(anonymousId), undefined),
    };
    const first = initGray(o);
    expect(first.setGrayVersion('beta')).toBe(true);
    const next = initGray(o);
    // `cookie: false` keeps no anonymous id: the rules see '' (never a new id per view, BC-05).
    expect(ids[0]).toMatch(cookie === false ? /^$/ : /^[0-9a-f]{32}$/);
    if (cookie === false) {
      expect([next.getGrayVersion(), next.getGrayReason()]).toEqual(['stable', 'default']);
      expect(document.cookie).toBe('');
      return;
    }
    expect([next.getGrayVersion(), next.getGrayReason()]).toEqual(['beta', 'cookie']);
    next.clearGrayVersion();
    // Assigned again from the rules: they see the id read back from its own cookie.
    expect(ids.at(-1)).toBe(ids[0]);
  });
});
