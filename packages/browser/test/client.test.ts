// @vitest-environment happy-dom
import { bucket } from '@graylane/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  initGray as initPage,
  installFetch,
  split,
  withGray,
  type GrayClient,
  type GrayOptions,
} from '../src/index.js';
import { at, clearCookies, reload } from './page.js';

/** Every init here is a new page view (a reload), so it reads the cookies afresh. */
function initGray(options: GrayOptions): GrayClient {
  reload();
  return initPage(options);
}

const base: GrayOptions = { versions: ['stable', 'beta'], default: 'stable' };

afterEach(() => {
  vi.restoreAllMocks();
  clearCookies();
  at('http://localhost/');
});

describe('assignment order', () => {
  it('QS-02 query override is opt-in, page-only unless persistOverride', () => {
    at('http://localhost/?gray=beta');
    expect(initGray(base).getGrayVersion()).toBe('stable');
    const c = initGray({ ...base, override: true });
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['beta', 'override']);
    expect(document.cookie).not.toContain('gray=beta');
    initGray({ ...base, override: true, persistOverride: true });
    expect(document.cookie).toContain('gray=beta');
  });

  it.each([
    ['QS-03 repeated key', '?gray=beta&gray=beta'],
    ['QS-04 bracket keys', '?gray[]=beta&gray[__proto__]=x'],
    ['QS-05 bad escapes and CRLF', '?gray=beta%0d%0a'],
    ['QS-06 key is case-sensitive', '?GRAY=beta'],
  ])('%s is ignored', (_id, search) => {
    at(`http://localhost/${search}`);
    expect(initGray({ ...base, override: true }).getGrayVersion()).toBe('stable');
  });

  it('override → server → cookie → rules → default', () => {
    document.cookie = 'gray=stable; Path=/';
    expect(initGray({ ...base, serverVersion: 'beta' }).getGrayReason()).toBe('server');
    // The server-assigned version was persisted: it is now the cookie, which beats rules.
    expect(
      initGray({ ...base, rules: () => ({ version: 'stable', reason: 'rule' }) }).getGrayVersion(),
    ).toBe('beta');
    clearCookies();
    document.cookie = 'gray=beta; Path=/';
    expect(
      initGray({ ...base, rules: () => ({ version: 'stable', reason: 'rule' }) }).getGrayReason(),
    ).toBe('cookie');
    clearCookies();
    const ruled = initGray({ ...base, rules: () => ({ version: 'beta', reason: 'rule' }) });
    expect([ruled.getGrayVersion(), ruled.getGrayReason()]).toEqual(['beta', 'rule']);
  });

  it('PREC-03 / CK-02 an unknown or ambiguous cookie is ignored, reported, and removed', () => {
    document.cookie = 'gray=gamma; Path=/';
    const c = initGray(base);
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual(['stable', 'unknown_version']);
    // Removed with Max-Age=0, which happy-dom expires only once its clock ticks: allow `gray=`.
    expect(document.cookie).not.toMatch(/(^|; )gray=[^;]/);
    expect(initGray({ ...base, serverVersion: 'BETA' }).getGrayReason()).toBe('invalid_marker');
  });

  it('WT-02/I9 split buckets the anonymous id with core bucket, sticky across inits', () => {
    const first = initGray({ ...base, rules: split({ beta: 50 }) });
    const id = /gray_aid=([0-9a-f]{32})/.exec(document.cookie)?.[1] ?? '';
    expect(first.getGrayVersion()).toBe(bucket('gray', id) < 5000 ? 'beta' : 'stable');
    expect(first.getGrayReason()).toBe('weight');
    document.cookie = 'gray=; Path=/; Max-Age=0';
    expect(initGray({ ...base, rules: split({ beta: 50 }) }).getGrayVersion()).toBe(
      first.getGrayVersion(),
    );
    expect(() => split({ beta: 60, stable: 50 })).toThrow(/\[graylane\]/);
    expect(() => split({ beta: 5.5 })).toThrow(/\[graylane\]/);
  });

  it('rejects invalid options at init only', () => {
    expect(() => initGray({ versions: ['stable'], default: 'beta' })).toThrow(/INVALID|default/);
    expect(() => initGray({ versions: ['Stable'], default: 'Stable' })).toThrow(/\[graylane\]/);
    expect(() => initGray({ ...base, allow: ['https://api.example.com/path'] })).toThrow(
      /\[graylane\]/,
    );
  });
});

// The cookie rows (BC) run against both jars in cookies.test.ts.
describe('tracking', () => {
  it('onAssign fires once per change; subscribe/unsubscribe; tracking fields; listener errors are contained', () => {
    const calls: string[] = [];
    const c = initGray({ ...base, onAssign: (v, r) => calls.push(`${v}:${r}`) });
    const off = c.subscribe(() => {
      throw new Error('listener bug');
    });
    c.setGrayVersion('beta');
    c.setGrayVersion('beta');
    expect(c.setGrayVersion('gamma')).toBe(false);
    off();
    c.clearGrayVersion();
    expect(calls).toEqual(['stable:default', 'beta:manual', 'stable:default']);
    expect(c.getTrackingFields()).toEqual({ gray_version: 'stable', gray_reason: 'default' });
  });
});

describe('propagation', () => {
  it('withGray looks globalThis.fetch up at call time and passes through without a client header', async () => {
    const c = initGray({ ...base, serverVersion: 'beta' });
    const wrapped = withGray();
    const seen: Array<[string, string | null]> = [];
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push([String(input), new Headers(init?.headers).get('x-gray-id')]);
      return new Response('ok');
    });
    await wrapped('/api');
    await wrapped('https://third.example/x');
    expect(seen).toEqual([
      ['/api', 'beta'],
      ['https://third.example/x', null],
    ]);
    expect(c.markerFor('javascript:alert(1)')).toBeUndefined();
    vi.unstubAllGlobals();
  });

  it('installFetch installs at most once and uninstall restores the original', () => {
    const original = globalThis.fetch;
    const off = installFetch();
    const patched = globalThis.fetch;
    expect(installFetch()).toBe(off);
    expect(globalThis.fetch).toBe(patched);
    off();
    expect(globalThis.fetch).toBe(original);
  });
});
