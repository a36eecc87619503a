// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  initGray,
  installFetch,
  rulesFromConfig,
  split,
  withGray,
  type GrayOptions,
} from '../src/index.js';
import { parseConfig } from '@graylane/core';
import { at, clearCookies, reload } from './page.js';

// The server → client hand-off (`serverVersion`, the `graylane-version` meta tag) and a repeated
// `initGray` (React StrictMode, HMR). Fast checks in happy-dom; the Chromium rows are in
// test/chromium/hand-off.test.ts.

const base: GrayOptions = { versions: ['stable', 'beta', 'canary'], default: 'stable' };

function metas(...contents: string[]): void {
  document.head.innerHTML = contents
    .map((c) => `<meta name="graylane-version" content="${c}">`)
    .join('');
}

function cookie(name = 'gray'): string | undefined {
  return new RegExp(`(?:^|; )${name}=([^;]*)`).exec(document.cookie)?.[1] || undefined;
}

afterEach(() => {
  clearCookies();
  document.head.innerHTML = '';
  reload('http://localhost/');
  vi.unstubAllGlobals();
});

interface Row {
  readonly id: string;
  readonly url?: string;
  readonly stored?: string;
  readonly meta?: readonly string[];
  readonly options?: Partial<GrayOptions>;
  readonly expected: readonly [version: string, reason: string, cookieAfter: string | undefined];
}

// Precedence: valid opt-in override → server hand-off (option, else meta) → cookie → rules →
// default. The hand-off rules the page view and is never stored (the server's sticky cookie
// persists what may be persisted); a page-only override leaves the cookie alone too.
const rows: readonly Row[] = [
  {
    id: 'option beats cookie',
    stored: 'canary',
    options: { serverVersion: 'beta' },
    expected: ['beta', 'server', 'canary'],
  },
  {
    id: 'meta beats cookie',
    stored: 'canary',
    meta: ['beta'],
    expected: ['beta', 'server', 'canary'],
  },
  {
    id: 'option beats meta',
    meta: ['canary'],
    options: { serverVersion: 'beta' },
    expected: ['beta', 'server', undefined],
  },
  {
    id: 'meta beats rules',
    meta: ['stable'],
    options: { rules: split({ beta: 100 }) },
    expected: ['stable', 'server', undefined],
  },
  {
    id: 'meta equal to the cookie',
    stored: 'beta',
    meta: ['beta'],
    expected: ['beta', 'server', 'beta'],
  },
  {
    id: 'override beats the hand-off, cookie untouched',
    url: '/?gray=canary',
    stored: 'stable',
    meta: ['beta'],
    options: { override: true },
    expected: ['canary', 'override', 'stable'],
  },
  {
    id: 'persisted override beats the hand-off',
    url: '/?gray=canary',
    meta: ['beta'],
    options: { override: true, persistOverride: true },
    expected: ['canary', 'override', 'canary'],
  },
  {
    id: 'invalid override falls to the hand-off',
    url: '/?gray=BETA',
    meta: ['beta'],
    options: { override: true },
    expected: ['beta', 'server', undefined],
  },
  {
    id: 'HDR-05 upper-case meta is ignored → cookie',
    stored: 'canary',
    meta: ['BETA'],
    expected: ['canary', 'cookie', 'canary'],
  },
  {
    id: 'HDR-04 unknown meta version is ignored → cookie',
    stored: 'canary',
    meta: ['gamma'],
    expected: ['canary', 'cookie', 'canary'],
  },
  {
    id: 'HDR-04 unknown meta, no cookie → default with the reason',
    meta: ['gamma'],
    expected: ['stable', 'unknown_version', undefined],
  },
  {
    id: 'HDR-06 OWS around the meta is trimmed',
    meta: [' beta\t'],
    expected: ['beta', 'server', undefined],
  },
  {
    id: 'HDR-07 two metas that disagree are ambiguous → cookie',
    stored: 'canary',
    meta: ['beta', 'stable'],
    expected: ['canary', 'cookie', 'canary'],
  },
  {
    id: 'two metas that agree count once',
    meta: ['beta', 'beta'],
    expected: ['beta', 'server', undefined],
  },
  {
    id: 'HDR-09 a 100-byte meta is ignored',
    meta: ['b'.repeat(100)],
    expected: ['stable', 'invalid_marker', undefined],
  },
  {
    id: 'HDR-11 __proto__ meta is ignored',
    meta: ['__proto__'],
    expected: ['stable', 'invalid_marker', undefined],
  },
  {
    id: 'empty meta is absent',
    stored: 'canary',
    meta: [''],
    expected: ['canary', 'cookie', 'canary'],
  },
  {
    id: 'an invalid option is ignored and hides the meta',
    stored: 'canary',
    meta: ['beta'],
    options: { serverVersion: 'nope!' },
    expected: ['canary', 'cookie', 'canary'],
  },
  { id: 'no hand-off: cookie', stored: 'canary', expected: ['canary', 'cookie', 'canary'] },
];

describe('server hand-off precedence', () => {
  // STK-01/02, WT-03, MISC-04: the page cannot tell a durable decision from a one-off one (a
  // query or header marker, the default), nor mint a signed token, nor tell a planted cookie from
  // its own: whatever the hand-off and whatever is stored, the hand-off rules this view only and
  // the cookie is left exactly as it was. The next page without a hand-off reads the cookie.
  const TOKEN = 'beta.1798729967.k1.jSPy-cXQf';
  const STORED: readonly (string | undefined)[] = [undefined, 'canary', 'beta', 'stable', TOKEN];
  const HANDED: readonly [string, Partial<GrayOptions>, string][] = [
    ['meta', {}, '<meta name="graylane-version" content="beta">'],
    // An older server's `data-graylane-once` changes nothing either.
    [
      'meta with an old flag',
      {},
      '<meta name="graylane-version" content="beta" data-graylane-once>',
    ],
    ['meta, the default', {}, '<meta name="graylane-version" content="stable">'],
    ['serverVersion', { serverVersion: 'beta' }, ''],
    ['serverVersion, the default', { serverVersion: 'stable' }, ''],
    [
      'serverVersion over a meta',
      { serverVersion: 'canary' },
      '<meta name="graylane-version" content="beta">',
    ],
  ];
  it.each(
    STORED.flatMap((stored) => HANDED.map((h) => [stored ?? '(nothing)', ...h, stored] as const)),
  )('STK-02 a hand-off is never stored (cookie %s, %s)', (_s, _h, options, head, stored) => {
    if (stored) document.cookie = `gray=${stored}; path=/`;
    document.head.innerHTML = head;
    const c = initGray({ ...base, ...options });
    const handed = options.serverVersion ?? /content="(\w+)"/.exec(head)?.[1];
    expect([c.getGrayVersion(), c.getGrayReason()]).toEqual([handed, 'server']);
    expect(cookie()).toBe(stored);
    // The next page without a hand-off: what the server stored (or nothing) rules.
    document.head.innerHTML = '';
    reload('http://localhost/');
    const next = initGray(base).getGrayVersion();
    expect(next).toBe(stored === undefined || stored === TOKEN ? 'stable' : stored);
  });

  it.each(rows)('$id', ({ url, stored, meta, options, expected }) => {
    at(`http://localhost${url ?? '/'}`);
    if (stored) document.cookie = `gray=${stored}; Path=/`;
    if (meta) metas(...meta);
    const c = initGray({ ...base, ...options });
    expect([c.getGrayVersion(), c.getGrayReason(), cookie()]).toEqual(expected);
  });

  it('the meta is read at initGray, not at import: a meta added later is seen by the next init', () => {
    expect(initGray({ ...base, cookie: false }).getGrayVersion()).toBe('stable');
    metas('beta');
    reload();
    expect(initGray({ ...base, cookie: false }).getGrayVersion()).toBe('beta');
  });

  it('clearGrayVersion forgets the hand-off for the rest of the page view', () => {
    metas('beta');
    const c = initGray(base);
    c.clearGrayVersion();
    expect([c.getGrayVersion(), c.getGrayReason(), cookie()]).toEqual([
      'stable',
      'default',
      undefined,
    ]);
  });
});

describe('initGray twice (StrictMode, HMR)', () => {
  it('same options → the same client and one exposure; a new onAssign replaces the old silently', () => {
    const calls: string[] = [];
    const options = (tag: string): GrayOptions => ({
      ...base,
      serverVersion: 'beta',
      allow: ['https://api.example.com', /^https:\/\/svc-\d+\.example\.com$/],
      rules: split({ beta: 5 }),
      cookie: { maxAgeSeconds: 600 },
      onAssign: (v, r) => calls.push(`${tag}:${v}:${r}`),
    });
    const first = initGray(options('a'));
    const second = initGray(options('b'));
    expect(second).toBe(first);
    expect(calls).toEqual(['a:beta:server']);
    second.setGrayVersion('canary');
    expect(calls).toEqual(['a:beta:server', 'b:canary:manual']);
  });

  it.each<[string, Partial<GrayOptions>]>([
    ['versions', { versions: ['stable', 'beta'] }],
    ['default', { default: 'beta' }],
    ['allow', { allow: ['https://other.example.com'] }],
    ['allow RegExp flags', { allow: [/^https:\/\/svc-\d+\.example\.com$/i] }],
    ['header', { header: 'X-Lane' }],
    ['serverVersion', { serverVersion: 'canary' }],
    ['cookie', { cookie: { name: 'lane' } }],
    ['cookie: false', { cookie: false }],
    ['split weights', { rules: split({ beta: 6 }) }],
    ['split salt', { rules: split({ beta: 5 }, { salt: 'x' }) }],
    ['a custom rules function', { rules: () => undefined }],
    ['override', { override: true }],
  ])('different %s → a new client, which becomes the default one', async (_what, change) => {
    const options: GrayOptions = {
      ...base,
      serverVersion: 'beta',
      allow: [/^https:\/\/svc-\d+\.example\.com$/],
      rules: split({ beta: 5 }),
    };
    const first = initGray(options);
    expect(initGray({ ...options })).toBe(first);
    const second = initGray({ ...options, ...change });
    expect(second).not.toBe(first);
    const seen: Array<string | null> = [];
    vi.stubGlobal('fetch', async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get(second.header));
      return new Response('ok');
    });
    await withGray()('/api');
    expect(seen).toEqual([second.getGrayVersion()]);
    // The old client still answers; it is simply no longer the default one.
    expect(first.getGrayVersion()).toBe('beta');
  });

  it('rulesFromConfig: the same config document → the same client; another document → a new one', () => {
    const doc = { versions: ['stable', 'beta'], default: 'stable', rules: [] };
    const opts = { versions: ['stable', 'beta'], default: 'stable' };
    const a = initGray({ ...opts, rules: rulesFromConfig(parseConfig(doc)) });
    expect(initGray({ ...opts, rules: rulesFromConfig(parseConfig({ ...doc })) })).toBe(a);
    const other = { ...doc, rules: [{ id: 'all', version: 'beta' }] };
    expect(initGray({ ...opts, rules: rulesFromConfig(parseConfig(other)) })).not.toBe(a);
  });

  it('installFetch follows the current client after a replacement', async () => {
    const seen: Array<string | null> = [];
    vi.stubGlobal('fetch', async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('x-gray-id'));
      return new Response('ok');
    });
    initGray({ ...base, cookie: false, serverVersion: 'beta' });
    const off = installFetch();
    await fetch('/a');
    initGray({ ...base, cookie: false, serverVersion: 'canary' });
    await fetch('/b');
    off();
    expect(seen).toEqual(['beta', 'canary']);
  });
});
