// @vitest-environment happy-dom
import { bucket } from '@graylane/core';
import { afterEach, describe, expect, it } from 'vitest';
import { split, type GrayCookieOptions, type GrayOptions } from '../src/index.js';
import { createJsCookieJar } from '../src/js-cookie.js';
import Cookies from 'js-cookie';
import { at, initOnReload } from './page.js';

// CK-02 / BC-02 (review F6): a cookie of graylane's name that the page did not write — set for a
// parent domain by a sibling app or an older deploy, or host-only beside a `cookie.domain` one —
// shows in `document.cookie` beside the page's own. The page's writes can neither overwrite nor
// delete it, so two values that disagree were ambiguous on every page view: a QA choice was
// dropped (the next view fell back to rules and overwrote it, or removed the page's own cookie
// and then read the other one), and an anonymous id beside another was redrawn every view (a new
// bucket every view). Now the page's own cookie wins (removed, the value that went away is its
// own, written back); the other is never touched. A lone cookie of the name counts whoever set
// it, as the server reads it. happy-dom keeps Domain cookies; the Chromium rows are in
// test/chromium/parent-domain.test.ts.

const VERSIONS = ['stable', 'beta', 'canary'];
const base: GrayOptions = { versions: VERSIONS, default: 'stable' };
const PAST = 'Expires=Thu, 01 Jan 1970 00:00:00 GMT';

interface Variant {
  readonly variant: string;
  /** The app page. */
  readonly app: string;
  /** Where the other cookie is set from (a sibling host, or the app's own host). */
  readonly from: string;
  readonly cookie?: GrayCookieOptions;
  /** The name the page writes (and the other cookie has), for the version and the id. */
  readonly name: string;
  readonly aidName: string;
  /** Attributes of the other cookie. */
  readonly attrs: string;
  /** True when the page's own cookie has another name (https `__Host-`): no conflict at all. */
  readonly immune?: boolean;
}

const VARIANTS: readonly Variant[] = [
  {
    variant: 'http, default names, Domain=example.com from a sibling',
    app: 'http://app.example.com/',
    from: 'http://other.example.com/',
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Domain=example.com; Path=/',
  },
  {
    variant: 'http, configured names, Domain=.example.com from a sibling',
    app: 'http://app.example.com/shop/cart',
    from: 'http://other.example.com/',
    cookie: { name: 'lane', anonymousIdName: 'lane_id' },
    name: 'lane',
    aidName: 'lane_id',
    attrs: 'Domain=.example.com; Path=/',
  },
  {
    variant: 'http, cookie.domain: host-only (an older deploy) beside Domain=example.com',
    app: 'http://app.example.com/',
    from: 'http://app.example.com/',
    cookie: { domain: 'example.com' },
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Path=/',
  },
  {
    variant: 'https, cookie.domain: host-only __Secure- beside Domain=example.com',
    app: 'https://app.example.com/',
    from: 'https://app.example.com/',
    cookie: { domain: 'example.com' },
    name: '__Secure-gray',
    aidName: '__Secure-gray_aid',
    attrs: 'Path=/; Secure',
  },
  {
    variant: 'https, __Host- names, unprefixed Domain=example.com from a sibling',
    app: 'https://app.example.com/',
    from: 'https://other.example.com/',
    name: 'gray',
    aidName: 'gray_aid',
    attrs: 'Domain=example.com; Path=/; Secure',
    immune: true,
  },
];

/** The other cookie's version value and what it reads as on its own. */
const VALUES: ReadonlyArray<readonly [label: string, raw: string, alone: string | undefined]> = [
  ['the same version', 'canary', 'canary'],
  ['another version', 'beta', 'beta'],
  ['the default', 'stable', 'stable'],
  ['another version, quoted', '"beta"', 'beta'],
  ['invalid (case)', 'BETA', undefined],
  ['invalid (escape)', 'b%65ta', undefined],
  ['invalid (over 64 bytes)', 'b'.repeat(80), undefined],
];
const OTHER_ID = 'f'.repeat(32);

/** Rows as `[title, row]` for `it.each(…)('%s', …)`: titles in full, unquoted. */
const titled = <T>(rows: readonly T[], title: (row: T) => string) =>
  rows.map((row) => [title(row), row] as const);
/** The other cookie's anonymous id, by row: the page's own (equal), another id, not an id. */
const IDS = ['own', OTHER_ID, 'not-an-id'] as const;

interface View {
  readonly version: string;
  readonly reason: string;
  /** The anonymous id the rules saw ('-' when a cookie decided). */
  readonly id: string;
  readonly kept?: boolean;
}

/** Sets the other cookies (from `v.from`), back on the app page afterwards. */
function plant(v: Variant, cookies: ReadonlyArray<readonly [string, string]>): void {
  at(v.from);
  for (const [name, value] of cookies) document.cookie = `${name}=${value}; ${v.attrs}`;
  at(v.app);
}

/** One page view of the app: a 50/50 split, optionally a QA choice or a clear. */
function view(v: Variant, act?: 'qa' | 'clear'): View {
  at(v.app);
  let id = '-';
  const c = initOnReload({
    ...base,
    ...(v.cookie ? { cookie: v.cookie } : {}),
    rules: (ctx) => ((id = ctx.anonymousId), split({ beta: 50 })(ctx)),
  });
  const kept = act === 'qa' ? c.setGrayVersion('canary') : undefined;
  if (act === 'clear') c.clearGrayVersion();
  return {
    version: c.getGrayVersion(),
    reason: c.getGrayReason(),
    id,
    ...(kept === undefined ? {} : { kept }),
  };
}

/** Values of `name` the page at `url` sees. */
function seen(url: string, name: string): string[] {
  at(url);
  return document.cookie
    .split('; ')
    .filter((p) => p.startsWith(`${name}=`))
    .map((p) => p.slice(name.length + 1));
}

const lane = (id: string): string => (bucket('gray', id) < 5000 ? 'beta' : 'stable');

afterEach(() => {
  // Expire everything graylane and the rows set, on every host and domain they used.
  for (const url of ['https://app.example.com/', 'https://app.shop.example.com/']) {
    at(url);
    for (const pair of document.cookie.split('; ').filter(Boolean))
      for (const d of ['', '; Domain=example.com', '; Domain=shop.example.com'])
        document.cookie = `${pair.split('=')[0]}=; Path=/; ${PAST}; Secure${d}`;
  }
  at('http://localhost/');
});

// Controls (the old reading passed them too): the other cookie agrees with the page's, or the
// page's names are `__Host-` ones no other host can set.
const ROWS = VARIANTS.flatMap((v) =>
  VALUES.map(([label, raw, alone], i) => ({
    ...v,
    kind: v.immune || i === 0 ? 'control: ' : '',
    label,
    raw,
    alone,
    otherId: IDS[i % IDS.length] as string,
  })),
);

describe('CK-02 the page’s own cookie wins over one it did not write; the other is untouched', () => {
  it.each(titled(ROWS, (r) => `${r.kind}own first — ${r.variant}; the other: ${r.label}`))(
    '%s',
    (_title, row) => {
      // The visitor's first page view: an anonymous id, then a QA choice (the page's own cookies).
      const first = view(row, 'qa');
      expect(first.kept).toBe(true);
      const own = first.id;
      expect(own).toMatch(/^[0-9a-f]{32}$/);
      const otherId = row.otherId === 'own' ? own : row.otherId;
      plant(row, [
        [row.name, row.raw],
        [row.aidName, otherId],
      ]);
      for (let i = 0; i < 5; i++)
        expect(view(row)).toEqual({ version: 'canary', reason: 'cookie', id: '-' });
      // Handed back to the rules: they bucket on the page's own id. Its default is not stored, so
      // from the next view a lone valid other cookie counts, as on the server (the documented rule).
      const cleared = view(row, 'clear');
      expect([cleared.id, cleared.version]).toEqual([own, lane(own)]);
      const next = lane(own) === 'beta' ? 'beta' : (row.alone ?? 'stable');
      for (let i = 0; i < 3; i++) expect(view(row).version).toBe(next);
      // The other cookies are where they were, with their values.
      expect(seen(row.from === row.app ? row.app : row.from, row.name)).toContain(row.raw);
      expect(seen(row.from === row.app ? row.app : row.from, row.aidName)).toContain(otherId);
    },
  );

  it.each(titled(ROWS, (r) => `${r.kind}other first — ${r.variant}; the other: ${r.label}`))(
    '%s',
    (_title, row) => {
      plant(row, [
        [row.name, row.raw],
        [row.aidName, row.otherId === 'own' ? OTHER_ID : row.otherId],
      ]);
      // Before any choice: a lone valid cookie counts (as the server reads it), else the rules; the
      // same on every view.
      const before = [view(row), view(row), view(row)];
      for (const v of before) expect(v.version).toBe(before[0]!.version);
      if (row.alone) expect(before[0]).toMatchObject({ version: row.alone, reason: 'cookie' });
      // The rules' id: a lone valid other id is read; else the page's own, kept.
      const ids = before.map((v) => v.id).filter((id) => id !== '-');
      if (ids.length) expect(new Set(ids).size).toBe(1);
      // A QA choice writes the page's own cookie, which wins from then on.
      expect(view(row, 'qa').kept).toBe(true);
      for (let i = 0; i < 4; i++)
        expect(view(row)).toMatchObject({ version: 'canary', reason: 'cookie' });
      expect(seen(row.from === row.app ? row.app : row.from, row.name)).toContain(row.raw);
    },
  );
});

describe('CK-02 conflicts the page cannot resolve, and the jar on its own', () => {
  // A page two levels down, so that two other domains (example.com, shop.example.com) can hold
  // the name beside its host-only cookie.
  const APP2 = 'http://app.shop.example.com/';
  const deep: Variant = { ...VARIANTS[0]!, app: APP2 };
  it.each([
    ['beta', 'canary'],
    ['beta', 'BETA'],
    ['stable', 'beta'],
  ])(
    'control: two other cookies (%s at example.com, %s at shop.example.com), none of the page’s: ignored, nothing deleted',
    (a, b) => {
      at('http://other.example.com/');
      document.cookie = `gray=${a}; Domain=example.com; Path=/`;
      at(APP2);
      document.cookie = `gray=${b}; Domain=shop.example.com; Path=/`;
      const views = [view(deep), view(deep), view(deep)];
      for (const v of views) expect(v).toMatchObject({ version: views[0]!.version });
      expect(views[0]!.reason).toMatch(/^(invalid_marker|weight|cookie)$/);
      expect(seen(APP2, 'gray')).toEqual(expect.arrayContaining([a, b]));
    },
  );

  const jar = createJsCookieJar(Cookies);
  const attrs = { path: '/', sameSite: 'Lax', secure: false, maxAge: 60 } as const;
  it.each([
    ['own, then parent', ['gray=beta; Path=/', 'gray=stable; Domain=example.com; Path=/'], 'beta'],
    ['parent, then own', ['gray=stable; Domain=example.com; Path=/', 'gray=beta; Path=/'], 'beta'],
    [
      'parent, own, grandparent-like',
      [
        'gray=canary; Domain=example.com; Path=/',
        'gray=beta; Path=/',
        'gray=stable; Domain=shop.example.com; Path=/',
      ],
      'beta',
    ],
    [
      'own equals one other',
      [
        'gray=beta; Domain=example.com; Path=/',
        'gray=beta; Path=/',
        'gray=x; Domain=shop.example.com; Path=/',
      ],
      'beta',
    ],
    ['own invalid', ['gray=stable; Domain=example.com; Path=/', 'gray=BETA; Path=/'], 'BETA'],
    [
      'control: no own: two others',
      ['gray=stable; Domain=example.com; Path=/', 'gray=beta; Domain=shop.example.com; Path=/'],
      ',',
    ],
  ])('get(name, attributes): %s', (_what, cookies, expected) => {
    at(APP2);
    for (const c of cookies) document.cookie = c;
    const before = seen(APP2, 'gray').sort();
    expect(jar.get('gray', attrs)).toBe(expected);
    // Read again: the same answer; the jar holds what it held (the own one written back).
    expect(jar.get('gray', attrs)).toBe(expected);
    expect(seen(APP2, 'gray').sort()).toEqual(before);
    // Without attributes (a name graylane only reads): a conflict is a conflict.
    expect(jar.get('gray')).toBe(',');
  });
});

// Review 105 F2: an over-long value of the name (a server's signed token, host-only) beside a
// parent-domain cookie. The page's repair must never write the sentinel `,` over it, nor give a
// short-lived token graylane's 30 days; it may only remove it, as an invalid marker is removed.
describe('CK-02 an over-long cookie of the name beside a parent-domain one (review 105 F2)', () => {
  const APP = 'http://app.example.com/';
  const TOKEN = `beta.${'A'.repeat(80)}`;
  it.each([
    ['with a server hand-off', { serverVersion: 'beta' }],
    ['without a hand-off', {}],
  ] as const)('%s: never written back, never a sentinel; the sibling cookie untouched', (_n, o) => {
    at('http://other.example.com/');
    document.cookie = 'gray=stable; Domain=example.com; Path=/';
    at(APP);
    document.cookie = `gray=${TOKEN}; Path=/; Max-Age=600`;
    initOnReload({ ...base, ...o });
    // The token may be gone (removed as invalid), never rewritten as a sentinel.
    expect(seen(APP, 'gray')).toContain('stable');
    expect(seen(APP, 'gray').filter((v) => v === ',' || v === '%2C')).toEqual([]);
  });

  it('two over-long values are a conflict, not one value: neither is written back', () => {
    at('http://other.example.com/');
    document.cookie = `gray=${'x'.repeat(90)}; Domain=example.com; Path=/`;
    at(APP);
    document.cookie = `gray=${TOKEN}; Path=/`;
    const c = initOnReload(base);
    expect(c.getGrayReason()).not.toBe('cookie');
    expect(seen(APP, 'gray').filter((v) => v === ',' || v === '%2C')).toEqual([]);
    expect(seen(APP, 'gray')).toContain('x'.repeat(90));
  });
});
