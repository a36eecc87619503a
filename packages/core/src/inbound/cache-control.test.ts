// STK-06: the one rewrite every server package applies to a response carrying graylane's sticky
// cookies (node-response.ts, web's response/apply.ts, the node assets handler). Table rows for
// every shape a server sends, then properties over arbitrary directive lists.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isTargetedCacheControl,
  privateCacheControl,
  TARGETED_CACHE_CONTROL_FIELDS,
  targetedNoStore,
} from './cache-control.js';

type Value = Parameters<typeof privateCacheControl>[0];

const ROWS: readonly (readonly [string, Value, string | undefined])[] = [
  ['absent', undefined, 'private'],
  ['null', null, 'private'],
  ['empty line', '', 'private'],
  ['empty list', [], 'private'],
  ['only commas and spaces', ' , ,', 'private'],
  ['public', 'public', 'private'],
  ['public, max-age', 'public, max-age=60', 'private, max-age=60'],
  ['Next static', 's-maxage=31536000', 'private'],
  [
    'Next ISR',
    's-maxage=60, stale-while-revalidate=31535940',
    'private, stale-while-revalidate=31535940',
  ],
  ['proxy-revalidate', 'max-age=0, proxy-revalidate', 'private, max-age=0'],
  ['immutable', 'public, max-age=31536000, immutable', 'private, max-age=31536000, immutable'],
  ['assets revalidate', 'public, no-cache', 'private, no-cache'],
  ['no-cache', 'no-cache', 'private, no-cache'],
  ['max-age only', 'max-age=60', 'private, max-age=60'],
  ['a number (max-age as Node may hold it)', 0, 'private, 0'],
  ['duplicated lines', ['public, max-age=60', 's-maxage=600'], 'private, max-age=60'],
  ['odd casing', 'PUBLIC, Max-Age=60, S-MaxAge=600', 'private, Max-Age=60'],
  ['spaces around', '  public ,  max-age=60  ', 'private, max-age=60'],
  ['qualified private', 'private="set-cookie", max-age=60', 'private, max-age=60'],
  [
    'qualified private with a comma',
    'private="set-cookie, x-a", max-age=60',
    'private, max-age=60',
  ],
  ['qualified no-cache kept', 'no-cache="set-cookie", public', 'private, no-cache="set-cookie"'],
  ['a quoted comma elsewhere', 'ext="a, public", s-maxage=1', 'private, ext="a, public"'],
  ['a quoted-pair', 'ext="a\\", public", public', 'private, ext="a\\", public"'],
  ['s-maxage with spaces before =', 's-maxage =60, max-age=5', 'private, max-age=5'],
  // Already forbidden to shared caches: left alone.
  ['private', 'private', undefined],
  ['Private, odd casing', 'Private, MAX-AGE=5', undefined],
  ['private, max-age', 'private, max-age=60', undefined],
  ['no-store', 'no-store', undefined],
  ['public, no-store', 'public, no-store', undefined],
  ['NO-STORE on a second line', ['public, s-maxage=60', 'NO-STORE'], undefined],
  ['Next dynamic', 'private, no-cache, no-store, max-age=0, must-revalidate', undefined],
  // RFC 9111 §5.2.2.3: a cache that implements must-understand ignores no-store (review 59 D2).
  [
    'must-understand, no-store, public',
    'public, max-age=3600, must-understand, no-store',
    'private, max-age=3600, must-understand, no-store',
  ],
  [
    'must-understand before no-store, s-maxage',
    'must-understand, s-maxage=600, no-store',
    'private, must-understand, no-store',
  ],
  [
    'MUST-UNDERSTAND on another line',
    ['no-store, max-age=60', 'MUST-UNDERSTAND'],
    'private, no-store, max-age=60, MUST-UNDERSTAND',
  ],
  [
    'must-understand, no-store only',
    'must-understand, no-store',
    'private, must-understand, no-store',
  ],
];

describe('STK-06 privateCacheControl', () => {
  it.each(ROWS)('STK-06 %s', (_name, value, expected) => {
    expect(privateCacheControl(value)).toBe(expected);
  });

  const directive = fc.oneof(
    fc.constantFrom(
      'public',
      'PUBLIC',
      's-maxage=5',
      'S-MaxAge=1',
      'proxy-revalidate',
      'max-age=9',
    ),
    fc.constantFrom('no-cache', 'immutable', 'must-revalidate', 'private="a"', 'stale-if-error=1'),
    // Quotes aside: the check below splits on every comma.
    fc.string({ maxLength: 12 }).filter((d) => !d.includes('"')),
  );
  const lines = fc.array(
    fc.array(directive, { maxLength: 6 }).map((d) => d.join(', ')),
    {
      maxLength: 3,
    },
  );

  it('STK-06 the result lets no shared cache store, keeps the rest, and is a fixed point', () => {
    fc.assert(
      fc.property(lines, (value) => {
        const out = privateCacheControl(value);
        if (out === undefined) return;
        expect(out.startsWith('private')).toBe(true);
        expect(privateCacheControl(out)).toBeUndefined();
        const names = out.split(',').map((d) => d.split('=')[0]!.trim().toLowerCase());
        for (const shared of ['public', 's-maxage', 'proxy-revalidate'])
          expect(names).not.toContain(shared);
      }),
    );
  });

  it('STK-06 never throws on any input', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true }), (value) => {
        privateCacheControl(value as Value);
      }),
    );
  });
});

// STK-06: targeted fields (RFC 9213) a CDN reads instead of Cache-Control.
const NAMES: readonly (readonly [unknown, boolean])[] = [
  ['CDN-Cache-Control', true],
  ['cdn-cache-control', true],
  ['CDN-CACHE-CONTROL', true],
  ['Cloudflare-CDN-Cache-Control', true],
  ['vercel-cdn-cache-control', true],
  ['Netlify-CDN-Cache-Control', true],
  ['Example-Cdn-Cache-Control', true],
  ['Surrogate-Control', true],
  ['SURROGATE-CONTROL', true],
  ['Edge-Control', true],
  ['edge-control', true],
  ['Cache-Control', false],
  ['-CDN-Cache-Control', false],
  ['CDN-Cache-Control-Note', false],
  ['Surrogate-Key', false],
  ['X-Edge-Control', false],
  ['', false],
  [undefined, false],
  [42, false],
];

const NO_STORE_ROWS: readonly (readonly [string, Value, string | undefined])[] = [
  ['absent', undefined, 'no-store'],
  ['empty', '', 'no-store'],
  ['max-age', 'max-age=3600', 'no-store'],
  ['public, s-maxage', 'public, s-maxage=600', 'no-store'],
  ['private (not Edge-Control syntax)', 'private', 'no-store'],
  ['Akamai !no-store', '!no-store, max-age=3600', 'no-store'],
  ['no-store and !no-store', ['no-store', '!no-store'], 'no-store'],
  ['quoted no-store', 'ext="no-store", max-age=1', 'no-store'],
  ['a number', 0, 'no-store'],
  ['no-store', 'no-store', undefined],
  ['NO-STORE, max-age (rewritten whole)', 'NO-STORE, max-age=60', 'no-store'],
  ['no-store on a second line', ['max-age=60', 'no-store'], 'no-store'],
  ['No-Store, spaces', ' No-Store ', undefined],
  ['one line in a list', ['no-store'], undefined],
];

describe('STK-06 targeted cache-control fields', () => {
  it.each(NAMES)('STK-06 isTargetedCacheControl(%j) is %s', (name, expected) => {
    expect(isTargetedCacheControl(name)).toBe(expected);
  });
  it.each(NO_STORE_ROWS)('STK-06 targetedNoStore %s', (_name, value, expected) => {
    expect(targetedNoStore(value)).toBe(expected);
  });
  it('STK-06 every preset field is targeted', () => {
    for (const name of TARGETED_CACHE_CONTROL_FIELDS)
      expect(isTargetedCacheControl(name)).toBe(true);
  });
  it('STK-06 targetedNoStore never throws and its result is a fixed point', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true }), (value) => {
        const out = targetedNoStore(value as Value);
        if (out !== undefined) expect(targetedNoStore(out)).toBeUndefined();
      }),
    );
  });
});
