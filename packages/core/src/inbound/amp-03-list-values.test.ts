import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { plainCarrier } from '../../test/fixtures.js';
import {
  cookieNames,
  cookieRead,
  parseCookiePairs,
  readCookie,
  removeCookies,
} from '../markers/cookie.js';
import { createInboundEngine } from './engine.js';
import type { InboundOptions } from './types.js';

/**
 * AMP-03: a `Cookie` header whose values hold the marker name (a list value `l=gray,gray,…`, a
 * JSON list `cart=[{"c":"gray"},…]`, a quoted URL holding `gray=`) costs about what a header of
 * the same size without it costs: only a pair's name can spell a marker, so the pieces of a list
 * value are passed over, not searched. These rows pin what such headers read and what the
 * removal keeps (byte for byte), on both sides of the limits the scans use: the readers' 180
 * pairs, and the hits in values after which the removal searches by names.
 */

const fill = (unit: string, count: number) => unit.repeat(count);

/** Values and list values that hold the marker name, or a spelling of it, and name nothing. */
const VALUES: [string, string][] = [
  ['a list value of gray', `l=${fill('gray,', 2400)}gray`],
  ['a JSON list of gray', `cart=[${fill('{"c":"gray"},', 900)}{"c":"gray"}]`],
  ['a list of spellings', `l=${fill('GRAY,Gray,gr%61y,gray[0],ſ,ı,%47ray,', 300)}gray`],
  ['a list of one piece', 'l=gray'],
  ['a list of 17 pieces', `l=${fill('gray,', 16)}gray`],
  ['a quoted URL holding gray=', `returnTo="/p?${fill('gray=beta&gray=x&', 600)}a=1"`],
  ['a value holding gray= and a list', `r=/p?gray=beta,${fill('x=gray=1,', 10)}x`],
  ['15 values holding gray', Array.from({ length: 15 }, (_, i) => `a${i}=gray`).join('; ')],
  ['16 values holding gray', Array.from({ length: 16 }, (_, i) => `a${i}=gray`).join('; ')],
  ['17 values holding gray', Array.from({ length: 17 }, (_, i) => `a${i}=gray`).join('; ')],
  ['40 values holding gray', Array.from({ length: 40 }, (_, i) => `a${i}=gray`).join('; ')],
  ['lists split by ;', `l=gray,gray; m=gray,GRAY; n=${fill('gray,', 50)}gray`],
  ['a , piece with a name', `l=gray,gray,x=gray,gray`],
  ['pieces with no = after ;', `l=gray,gray; gray; GRAY; gray[0]; m=gray`],
];

/** A marker spelling some reader takes for `gray` (removed in every mode), and how it is written. */
const SPELLED = ['GRAY=beta', 'gray[0]=beta', 'gr%61y=beta', '__HOST-gray=beta', ' Gray =beta'];
const JOINS = ['; ', ';', ', ', ','];

describe('AMP-03 removeCookies: values and list pieces holding the name are kept byte for byte', () => {
  const rows = VALUES.flatMap(([label, value]) =>
    ['', 'sid=3f2a9c', `k=${fill('gray,', 30)}gray`].map((after) => [label, value, after] as const),
  );
  it.each(rows)(
    'AMP-03 %s, then %j: nothing spells a marker, nothing changes',
    (_l, value, after) => {
      const text = after === '' ? value : `${value}; ${after}`;
      expect(removeCookies(text, ['gray'])).toBe(text);
      expect(removeCookies(text, ['__Host-gray', '__Secure-gray', 'gray'])).toBe(text);
    },
  );

  const spelled = VALUES.flatMap(([label, value]) =>
    SPELLED.flatMap((marker) =>
      JOINS.flatMap((join) =>
        ['', 'sid=3f2a9c'].map((after) => [label, marker, join, after, value] as const),
      ),
    ),
  );
  it.each(spelled)(
    'AMP-03 %s, then %j after %j and %j: only the marker pair goes',
    (_l, marker, join, after, value) => {
      const text = [value, marker, after].filter((p) => p !== '').join(join);
      const kept = [value, after].filter((p) => p !== '').join('; ');
      expect(removeCookies(text, ['__Host-gray', '__Secure-gray', 'gray'])).toBe(kept);
    },
  );

  it.each(VALUES)('AMP-03 %s between two markers: both go, the value stays', (_l, value) => {
    const text = `GRAY=a; ${value}, gray[x]=b; sid=1`;
    expect(removeCookies(text, ['gray'])).toBe(`${value}; sid=1`);
  });
});

describe('AMP-03 the readers: list pieces name nothing and count toward nothing', () => {
  // [header, what `gray` reads]
  const READS: [string, string, { kind: string; value?: string }][] = [
    ['a list of gray', `l=${fill('gray,', 2400)}gray`, { kind: 'absent' }],
    ['a list, then the marker', `l=${fill('gray,', 2400)}gray; gray=beta`, value('beta')],
    ['a list, then the marker after ,', `l=${fill('gray,', 500)}gray,gray=beta`, value('beta')],
    ['a list ending in the marker', `l=${fill('g,', 500)} gray =beta`, value('beta')],
    [
      '500 , pieces, then 178 ; pairs',
      `${fill('g,', 500)}x;${fill('x;', 177)}gray=beta`,
      value('beta'),
    ],
    ['179 pairs without =, then the marker', `${fill('x;', 179)}gray=beta`, value('beta')],
    ['180 pairs without =, then the marker', `${fill('x;', 180)}gray=beta`, { kind: 'absent' }],
    ['179 list pairs, then the marker', `${fill('x,y,z;', 179)}gray=beta`, value('beta')],
    ['180 list pairs, then the marker', `${fill('x,y,z;', 180)}gray=beta`, { kind: 'absent' }],
    ['lists split by ;, the marker last', `${fill('l=gray,gray;', 179)}gray=beta`, value('beta')],
    [
      'the marker twice around a list',
      `gray=beta; l=${fill('gray,', 100)}gray=beta`,
      value('beta'),
    ],
    [
      'two values around a list',
      `gray=beta; l=${fill('gray,', 100)}gray=canary`,
      { kind: 'ambiguous' },
    ],
    ['a value holding gray=', `r="/p?gray=canary"; gray=beta`, value('beta')],
    ['a , piece without = then =', `l=gray,gray, =x; gray=beta`, value('beta')],
  ];
  it.each(READS)('AMP-03 %s', (_l, header, want) => {
    expect(readCookie(header, 'gray')).toEqual(want);
    for (const only of [cookieNames(['gray', 'k0', 'l']), undefined])
      expect(cookieRead(parseCookiePairs(header, only), 'gray')).toEqual(want);
  });
});

function value(v: string) {
  return { kind: 'value', value: v };
}

describe('AMP-03 the engine: verdicts and edits with list values', () => {
  const KEY = 'a-signing-key-of-at-least-32-byte';
  const hmac = (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(createHmac('sha256', key).update(data).digest());
  const versions = ['stable', 'beta'];
  // With rules that read cookies (the filtered parse) and without (the marker names' scan).
  const CONFIGS = {
    'cookie rules': {
      versions,
      default: 'stable',
      rules: [{ id: 'r', match: { cookie: { k0: { equals: 'never' } } }, version: 'beta' }],
    },
    'no rules': { versions, default: 'stable' },
  };
  const MODES: [string, Omit<InboundOptions<null>, 'config'>][] = [
    ['open', {}],
    ['edge', { trust: 'edge' }],
    ['signed', { trust: 'signed', keys: { k1: KEY } }],
  ];
  function evaluate(options: InboundOptions<null>, cookie: string) {
    const engine = createInboundEngine(options, { hmacSha256: hmac, randomId: randomUUID });
    const out = engine.evaluate(plainCarrier({ cookie }), null);
    return {
      version: out.decision.version,
      source: out.decision.source,
      cookie: out.edits?.headers.get('cookie'),
    };
  }

  const rows = Object.entries(CONFIGS).flatMap(([c, config]) =>
    MODES.flatMap(([m, o]) =>
      VALUES.map(([label, v]) => [c, m, label, { config, ...o }, v] as const),
    ),
  );
  it.each(rows)('AMP-03 %s, %s: %s', (_c, mode, _l, options, v) => {
    // No marker: the default, nothing edited.
    expect(evaluate(options, `sid=1; ${v}`)).toEqual({
      version: 'stable',
      source: 'default',
      cookie: undefined,
    });
    // The marker after the value: honoured and kept in open mode; removed elsewhere.
    const marked = evaluate(options, `sid=1; ${v}; gray=beta`);
    if (mode === 'open')
      expect(marked).toEqual({ version: 'beta', source: 'cookie', cookie: undefined });
    else expect(marked).toEqual({ version: 'stable', source: 'default', cookie: `sid=1; ${v}` });
    // A spelling no reader here honours goes in every mode; the value stays.
    expect(evaluate(options, `sid=1; ${v}, GRAY=beta; t=1`)).toEqual({
      version: 'stable',
      source: 'default',
      cookie: `sid=1; ${v}; t=1`,
    });
  });

  // The marker as the 180th pair the readers count, and past it: a list value is one pair.
  const CAP = Object.entries(CONFIGS).flatMap(([c, config]) =>
    [177, 178, 179, 180].map((n) => [c, n, config] as const),
  );
  it.each(CAP)('AMP-03 %s: %i pairs, a list value, then the marker', (_c, n, config) => {
    const head = fill('x=1; ', n);
    const list = `l=${fill('gray,', 400)}gray`;
    const got = evaluate({ config }, `${head}${list}; gray=beta`);
    // Pair n + 2 is the marker: read within the readers' 180 pairs, removed past them (GW-02).
    if (n + 2 <= 180) expect(got).toEqual({ version: 'beta', source: 'cookie', cookie: undefined });
    else expect(got).toEqual({ version: 'stable', source: 'default', cookie: `${head}${list}` });
  });
});
