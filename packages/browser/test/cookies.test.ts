// @vitest-environment happy-dom
import Cookies from 'js-cookie';
import { afterEach, describe, expect, it } from 'vitest';
import {
  initGray as initPage,
  split,
  type CookieJarLike,
  type GrayClient,
  type GrayOptions,
} from '../src/index.js';
import { createJsCookieJar, jsCookieJar } from '../src/js-cookie.js';
import { at, clearCookies, reload } from './page.js';

/** Every init here is a new page view (a reload), so it reads the cookies afresh. */
function initGray(options: GrayOptions): GrayClient {
  reload();
  return initPage(options);
}

// The cookie rows (BC, CK) against both jars: the built-in document.cookie jar (the default) and
// jsCookieJar from @graylane/browser/js-cookie. Same behaviour; only the exact strings differ.

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
  /** The write of `gray=beta` with `attrs` in the jar's own order and case. */
  readonly written: (name: string, attrs: { secure?: boolean; domain?: string }) => string;
  /** What a second cookie of the same name reads as: rejected (CK-02) or the first one. */
  readonly duplicate: 'invalid_marker' | 'first';
}

const jars: readonly JarCase[] = [
  {
    jar: 'default (document.cookie)',
    cookies: undefined,
    written: (name, a) =>
      `${name}=beta; Path=/; Max-Age=2592000; SameSite=Lax` +
      (a.secure ? '; Secure' : '') +
      (a.domain ? `; Domain=${a.domain}` : ''),
    duplicate: 'invalid_marker',
  },
  {
    jar: 'jsCookieJar',
    cookies: jsCookieJar,
    written: (name, a) =>
      `${name}=beta; path=/` +
      (a.domain ? `; domain=${a.domain}` : '') +
      '; samesite=Lax' +
      (a.secure ? '; secure' : '') +
      '; max-age=2592000',
    duplicate: 'first',
  },
];

describe.each(jars)('cookies with the $jar jar', ({ cookies, written, duplicate }) => {
  const opts: GrayOptions = cookies ? { ...base, cookies } : base;

  it('BC-03 http: unprefixed, SameSite=Lax, no Secure; BC-04 a change overwrites; BC-06 Max-Age clamped', () => {
    const { writes, stop } = recordWrites();
    const c = initGray({ ...opts, cookie: { maxAgeSeconds: 99_999_999 } });
    c.setGrayVersion('beta');
    c.setGrayVersion('stable');
    stop();
    expect(writes).toEqual([
      written('gray', {}),
      written('gray', {}).replace('gray=beta', 'gray=stable'),
    ]);
    expect(document.cookie.split('; ').filter((p) => p.startsWith('gray='))).toEqual([
      'gray=stable',
    ]);
  });

  it('BC-01 https: __Host- prefix, Secure, no Domain', () => {
    at('https://app.example.com/');
    const { writes, stop } = recordWrites();
    initGray({ ...opts, serverVersion: 'beta' });
    stop();
    expect(writes).toEqual([written('__Host-gray', { secure: true })]);
  });

  it('BC-02 https + cookie.domain: __Secure- prefix with Domain', () => {
    at('https://app.example.com/');
    const { writes, stop } = recordWrites();
    initGray({ ...opts, serverVersion: 'beta', cookie: { domain: 'example.com' } });
    stop();
    expect(writes).toEqual([written('__Secure-gray', { secure: true, domain: 'example.com' })]);
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

  it(`CK-02 two cookies of the name: ${duplicate}`, () => {
    cookieHeader('gray=beta; gray=stable');
    const c = initGray(opts);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(
      duplicate === 'first' ? ['beta', 'cookie'] : ['stable', 'invalid_marker'],
    );
  });

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
  it('createJsCookieJar uses the given js-cookie instance (its attributes are kept)', () => {
    const { writes, stop } = recordWrites();
    const cookies = createJsCookieJar(Cookies.withAttributes({ partitioned: true }));
    initGray({ ...base, cookies, serverVersion: 'beta' });
    stop();
    expect(writes).toEqual(['gray=beta; path=/; partitioned; samesite=Lax; max-age=2592000']);
  });

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
