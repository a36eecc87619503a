// @vitest-environment happy-dom
import Cookies from 'js-cookie';
import { afterEach, describe, expect, it } from 'vitest';
import { split, type CookieJarLike, type GrayOptions } from '../src/index.js';
import { createJsCookieJar, jsCookieJar } from '../src/js-cookie.js';
import { at, clearCookies, initOnReload as initGray } from './page.js';

// The cookie rows (BC, CK, STK-04) against the default jar (js-cookie behind createJsCookieJar),
// the compatibility export `jsCookieJar` and a jar on a js-cookie instance with extra
// attributes. Same behaviour; fast checks in happy-dom, the Chromium rows are in test/chromium.

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

/** The accessor `document.cookie` really uses (happy-dom's own Document class, not the global). */
function nativeCookie(): PropertyDescriptor | undefined {
  for (let o: object | null = document; o; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, 'cookie');
    if (d?.set) return d;
  }
  return undefined;
}

const native = nativeCookie();

/** Shadows `document.cookie` with an own accessor; the native one is used where omitted. */
function override(get?: () => string, set?: (v: string) => void): void {
  Object.defineProperty(document, 'cookie', {
    configurable: true,
    get: get ?? (() => native?.get?.call(document) as string),
    set: set ?? ((v: string) => native?.set?.call(document, v)),
  });
}

/** Back to the native `document.cookie`. */
function restore(): void {
  Reflect.deleteProperty(document, 'cookie');
}

/** Records every document.cookie write while still applying it. */
function recordWrites(): { writes: string[]; stop(): void } {
  const writes: string[] = [];
  override(undefined, (v) => {
    writes.push(v);
    native?.set?.call(document, v);
  });
  return { writes, stop: restore };
}

/** Makes document.cookie read as `header` (two cookies of a name, a server-set name, …). */
function cookieHeader(header: string): void {
  override(() => header);
}

afterEach(() => {
  restore();
  clearCookies();
  at('http://localhost/');
});

interface JarCase {
  readonly jar: string;
  readonly cookies: CookieJarLike | undefined;
  /** Extra attributes the jar's js-cookie instance writes after `path`. */
  readonly extra: string;
}

const jars: readonly JarCase[] = [
  { jar: 'default (js-cookie)', cookies: undefined, extra: '' },
  { jar: 'jsCookieJar (compatibility export)', cookies: jsCookieJar, extra: '' },
  {
    jar: 'createJsCookieJar(Cookies.withAttributes({ partitioned: true }))',
    cookies: createJsCookieJar(Cookies.withAttributes({ partitioned: true })),
    extra: '; partitioned',
  },
];

/** What js-cookie writes for `name=beta` with graylane's attributes. */
function written(extra: string, name: string, a: { secure?: boolean; domain?: string }): string {
  return (
    `${name}=beta; path=/${extra}` +
    (a.domain ? `; domain=${a.domain}` : '') +
    '; sameSite=Lax' +
    (a.secure ? '; secure' : '') +
    '; max-age=2592000; priority=High'
  );
}

describe.each(jars)('cookies with the $jar jar', ({ cookies, extra }) => {
  const opts: GrayOptions = cookies ? { ...base, cookies } : base;

  it('BC-03 http: unprefixed, SameSite=Lax, no Secure; BC-04 a change overwrites; BC-06 Max-Age clamped', () => {
    const { writes, stop } = recordWrites();
    const c = initGray({ ...opts, cookie: { maxAgeSeconds: 99_999_999 } });
    c.setGrayVersion('beta');
    c.setGrayVersion('stable');
    stop();
    expect(writes).toEqual([
      written(extra, 'gray', {}),
      written(extra, 'gray', {}).replace('gray=beta', 'gray=stable'),
    ]);
    expect(document.cookie.split('; ').filter((p) => p.startsWith('gray='))).toEqual([
      'gray=stable',
    ]);
  });

  it('BC-01 https: __Host- prefix, Secure, no Domain', () => {
    at('https://app.example.com/');
    const { writes, stop } = recordWrites();
    initGray(opts).setGrayVersion('beta');
    stop();
    expect(writes).toEqual([written(extra, '__Host-gray', { secure: true })]);
  });

  it('BC-02 https + cookie.domain: __Secure- prefix with Domain', () => {
    at('https://app.example.com/');
    const { writes, stop } = recordWrites();
    initGray({ ...opts, cookie: { domain: 'example.com' } }).setGrayVersion('beta');
    stop();
    expect(writes).toEqual([
      written(extra, '__Secure-gray', { secure: true, domain: 'example.com' }),
    ]);
  });

  it('reads the stored version; on https falls back to the unprefixed name a server set', () => {
    document.cookie = 'gray=beta; Path=/';
    expect(initGray(opts).getGrayReason()).toBe('cookie');
    at('https://app.example.com/');
    cookieHeader('gray=beta');
    const c = initGray(opts);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['beta', 'cookie']);
  });

  it('CK-03/CK-04 reads raw: an escape is invalid, one DQUOTE pair is stripped', () => {
    cookieHeader('gray=%62eta');
    expect(initGray(opts).getGrayReason()).toBe('invalid_marker');
    cookieHeader('gray="beta"');
    expect(initGray(opts).getGrayVersion()).toBe('beta');
  });

  it.each([
    ['gray=beta; gray=stable', ['stable', 'invalid_marker']],
    ['gray=stable; a=1; gray=beta', ['stable', 'invalid_marker']],
    ['gray=beta; gray=beta', ['beta', 'cookie']],
    ['gray=beta; gray="beta"', ['beta', 'cookie']],
    ['gray=beta; gray=%62eta', ['stable', 'invalid_marker']],
    [' gray =beta', ['beta', 'cookie']],
    ['xgray=stable; gray=beta; grayx=stable', ['beta', 'cookie']],
  ])('CK-02 two values of the name are a conflict, around js-cookie: %s', (header, expected) => {
    cookieHeader(header);
    const c = initGray(opts);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(expected);
  });

  it.each([
    ['> 16 KiB of other cookies before ours', 'x'.repeat(17_000)],
    ['> 180 other pairs before ours', Array.from({ length: 200 }, (_, i) => `c${i}=v`).join('; ')],
    ['a 4 KiB cookie of another name', `big=${'y'.repeat(4096)}`],
  ])(
    'STK-04 %s: the assignment, the anonymous id and a QA choice are still read',
    (_id, others) => {
      const aid = 'a'.repeat(32);
      cookieHeader(`${others}; gray=canary; gray_aid=${aid}`);
      const c = initGray({
        ...opts,
        versions: ['stable', 'beta', 'canary'],
        rules: split({ beta: 100 }),
      });
      expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['canary', 'cookie']);
      cookieHeader(`${others}; gray_aid=${aid}`);
      const ruled = initGray({ ...opts, rules: split({ beta: 50 }) });
      expect(ruled.getGrayReason()).toBe('weight');
      restore();
      expect(document.cookie).not.toContain(`gray_aid=`);
    },
  );

  it('PREC-03 an unknown cookie is removed', () => {
    document.cookie = 'gray=gamma; Path=/';
    expect(initGray(opts).getGrayReason()).toBe('unknown_version');
    // happy-dom expires a Max-Age=0 cookie only once the clock ticks, so allow an empty `gray=`.
    expect(document.cookie).not.toMatch(/(^|; )gray=[^;]/);
  });

  it('clearGrayVersion removes the cookie; the anonymous id cookie is kept', () => {
    const c = initGray({ ...opts, rules: split({ beta: 100 }) });
    expect(document.cookie).toMatch(/(^|; )gray=beta(;|$)/);
    expect(document.cookie).toMatch(/gray_aid=[0-9a-f]{32}/);
    c.setGrayVersion('stable');
    c.clearGrayVersion();
    expect(c.getGrayVersion()).toBe('beta');
    const id = /gray_aid=([0-9a-f]{32})/.exec(document.cookie)?.[1];
    expect(initGray({ ...opts, rules: split({ beta: 100 }) }).getGrayVersion()).toBe('beta');
    expect(/gray_aid=([0-9a-f]{32})/.exec(document.cookie)?.[1]).toBe(id);
    c.setGrayVersion('stable');
    const { writes, stop } = recordWrites();
    initGray({ ...opts, cookie: { name: 'other' } }).clearGrayVersion();
    stop();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^other=;/);
  });

  it('cookie: false writes nothing', () => {
    const { writes, stop } = recordWrites();
    const c = initGray({ ...opts, cookie: false, rules: split({ beta: 100 }) });
    c.setGrayVersion('stable');
    stop();
    expect([writes, c.getGrayVersion()]).toEqual([[], 'stable']);
  });

  it('BC-05 document.cookie throws: in memory, no throw', () => {
    const deny = (): never => {
      throw new DOMException('sandboxed', 'SecurityError');
    };
    override(deny, deny);
    const c = initGray({ ...opts, rules: split({ beta: 100 }) });
    expect(c.getGrayVersion()).toBe('beta');
    expect(c.setGrayVersion('stable')).toBe(true);
    expect(c.getGrayVersion()).toBe('stable');
    c.clearGrayVersion();
    expect(c.getGrayVersion()).toBe('beta');
  });
});

describe('custom jars', () => {
  it('a throwing CookieJarLike is contained: memory for the page', () => {
    const cookies: CookieJarLike = {
      get: () => {
        throw new Error('jar bug');
      },
      set: () => {
        throw new Error('jar bug');
      },
      remove: () => {
        throw new Error('jar bug');
      },
    };
    const c = initGray({ ...base, cookies, serverVersion: 'beta' });
    expect(c.getGrayVersion()).toBe('beta');
    c.clearGrayVersion();
    expect(c.getGrayVersion()).toBe('stable');
  });

  // STK-04: a QA choice says whether it was stored. A jar that takes the write and still reads
  // another value (the server's HttpOnly cookie of the name: invisible and not overwritable from
  // the page; cookies refused) → false, the page view switches anyway; a jar that throws (a
  // sandboxed frame, BC-05) or `cookie: false` keep the choice in memory by design → true.
  it.each<[string, CookieJarLike | undefined, Partial<GrayOptions>, boolean]>([
    [
      'a jar that drops writes (HttpOnly, refused)',
      { get: () => undefined, set: () => undefined, remove: () => undefined },
      {},
      false,
    ],
    [
      'a jar that keeps another value',
      { get: () => 'stable', set: () => undefined, remove: () => undefined },
      {},
      false,
    ],
    [
      'a jar that stores a different value',
      { get: () => 'canary', set: () => undefined, remove: () => undefined },
      {},
      false,
    ],
    [
      'a throwing jar',
      {
        get: () => {
          throw new Error('x');
        },
        set: () => {
          throw new Error('x');
        },
        remove: () => undefined,
      },
      {},
      true,
    ],
    [
      'set throws, get works',
      {
        get: () => undefined,
        set: () => {
          throw new Error('x');
        },
        remove: () => undefined,
      },
      {},
      true,
    ],
    ['cookie: false', undefined, { cookie: false }, true],
    ['a working jar', undefined, {}, true],
  ])('STK-04 setGrayVersion over %s', (_name, cookies, more, stored) => {
    const c = initGray({ ...base, ...(cookies ? { cookies } : {}), ...more });
    expect(c.setGrayVersion('beta')).toBe(stored);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['beta', 'manual']);
    // Asked again, it reports its own write again.
    expect(c.setGrayVersion('beta')).toBe(stored);
    expect(c.setGrayVersion('nope')).toBe(false);
  });

  it('a fake jar sees the attributes graylane writes with', () => {
    const calls: unknown[] = [];
    const store = new Map<string, string>();
    const cookies: CookieJarLike = {
      get: (name) => store.get(name),
      set: (name, value, attributes) => {
        calls.push(['set', name, value, attributes]);
        store.set(name, value);
      },
      remove: (name, attributes) => {
        calls.push(['remove', name, attributes]);
        store.delete(name);
      },
    };
    at('https://app.example.com/');
    const c = initGray({ ...base, cookies, cookie: { maxAgeSeconds: 60 } });
    c.setGrayVersion('beta');
    c.clearGrayVersion();
    const attributes = { path: '/', domain: undefined, sameSite: 'Lax', secure: true, maxAge: 60 };
    expect(calls).toEqual([
      ['set', '__Host-gray', 'beta', attributes],
      ['remove', '__Host-gray', attributes],
    ]);
  });
});
