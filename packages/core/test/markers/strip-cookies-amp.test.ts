import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayHoldCookie, removeCookies, stripCookies } from '../../src/markers/cookie.js';
import { spellsCookieRef } from '../cookie-spelling-ref.js';

/**
 * AMP-01 / GW-02: `stripCookies` judges only the pairs its probe hits and keeps the text between
 * two hits as one slice (AMP-03: 12 KiB of `%E0%A4%A=x` pairs used to cost a judged pair each).
 * Whatever the shape of the header around the hits, it must give what judging every pair gives:
 * this file's reference splits the header at every `;` and `,`, judges each pair with
 * `test/cookie-spelling-ref.ts`, and joins the runs of kept pairs as `removeCookies` documents
 * (kept text byte for byte, separators and empty pairs inside a run too; runs joined with `; `).
 */
const OWS = new Set([' ', '\t']);

function stripRef(
  text: string,
  names: readonly string[],
  keep: readonly string[],
): string | undefined {
  const runs: string[] = [];
  let start = -1;
  let end = -1;
  let cut = false;
  let at = 0;
  let hits = 0;
  for (const raw of text.split(/[;,]/)) {
    // AMP-03: past 180 pairs whose name could spell one of `names`, that pair and the rest go
    // unjudged.
    const eqAt = raw.indexOf('=');
    if (eqAt !== -1 && mayHoldCookie(raw.slice(0, eqAt), names) && ++hits > 180) {
      cut = true;
      break;
    }
    const pairStart = at;
    at += raw.length + 1;
    let a = 0;
    let b = raw.length;
    while (a < b && OWS.has(raw[a] as string)) a++;
    while (b > a && OWS.has(raw[b - 1] as string)) b--;
    const eq = raw.indexOf('=');
    const name = eq === -1 ? undefined : raw.slice(a, eq);
    const spelled = name === undefined ? undefined : names.find((n) => spellsCookieRef(name, n));
    const exactlyKept =
      spelled !== undefined && keep.includes(spelled) && name?.replace(/[ \t]+$/, '') === spelled;
    if (spelled !== undefined && !exactlyKept) {
      cut = true;
      if (end !== -1) runs.push(text.slice(start, end));
      end = -1;
    } else if (b > a) {
      if (end === -1) start = pairStart + a;
      end = pairStart + b;
    }
  }
  if (!cut) return text;
  if (end !== -1) runs.push(text.slice(start, end));
  return runs.length === 0 ? undefined : runs.join('; ');
}

describe('AMP-01 stripCookies judges the probe hits only, and gives what judging every pair gives', () => {
  const rows: [string, string, readonly string[], readonly string[], string | undefined][] = [
    ['marker last', 'a=1; gray=beta', ['gray'], [], 'a=1'],
    ['marker first', 'gray=beta; a=1', ['gray'], [], 'a=1'],
    ['marker alone', 'gray=beta', ['gray'], [], undefined],
    ['PHP array alone', 'gray[0]=beta', ['gray'], [], undefined],
    ['between kept pairs', 'a=1; gray[0]=beta; b=2', ['gray'], [], 'a=1; b=2'],
    ['hit in a value only', 'x=gray; y=%67', ['gray'], [], 'x=gray; y=%67'],
    ['hit in a value, then a marker', 'x=gray; gray=1; y=2', ['gray'], [], 'x=gray; y=2'],
    ['two hits in one pair', 'graygray=gray; gr%61y=1', ['gray'], [], 'graygray=gray'],
    ['commas and semicolons', 'a=1,gray=2;b=3 , GRAY=4,c', ['gray'], [], 'a=1; b=3; c'],
    ['empty pairs kept inside a run', 'a=1;; ;b=2; gray=x', ['gray'], [], 'a=1;; ;b=2'],
    ['empty pairs around a cut', ' ; gray=x ;; a=1 ; ', ['gray'], [], 'a=1'],
    ['pair without "="', 'gray; a=1; gray=1', ['gray'], [], 'gray; a=1'],
    ['kept exactly', 'gray=beta; GRAY=x', ['gray'], ['gray'], 'gray=beta'],
    ['kept name with OWS before "="', 'gray =beta; a=1', ['gray'], ['gray'], 'gray =beta; a=1'],
    ['__Host- and plain', '__Host-gray=a; gray=b; c=1', ['__Host-gray', 'gray'], [], 'c=1'],
    ['PHP dots for underscores', '..Host-gray=a; c=1', ['__Host-gray', 'gray'], [], 'c=1'],
    ['rare letters', 'ab=1; a_\u017f=2', ['a_s'], [], 'ab=1'],
    ['rare letter as the hit', 'a=1; \u017fid=2; s\u0131d=3; b=4', ['sid'], [], 'a=1; b=4'],
    // Review 51 D2: a name with `ſ` / `ı` is spelled by plain `s` / `i` too.
    ['a name with \u017f, spelled with s', 's=1; a=2', ['\u017f'], [], 'a=2'],
    ['a name with \u0131, spelled with I', 'XI=1; a=2', ['x\u0131'], [], 'a=2'],
    ['a name with \u017f, trimmed', 'S\v=yk', ['\u017f'], [], undefined],
    ['escaped underscore name', 'a%5Fb=1; a=2', ['a_b'], [], 'a=2'],
    ['nothing to cut is the same text', 'a=1;  b=2 ,c', ['gray'], [], 'a=1;  b=2 ,c'],
    ['empty text', '', ['gray'], [], ''],
    ['only separators', ';;,,', ['gray'], [], ';;,,'],
  ];
  it.each(rows)('AMP-01 %s', (_label, text, names, keep, want) => {
    expect(stripCookies(text, names, keep)).toBe(want);
    expect(stripRef(text, names, keep)).toBe(want);
  });

  // Names written exactly as another marker's PHP spelling: the first name in order decides.
  it.each([
    ['a_b=1; c=2', ['a.b', 'a_b'], ['a_b'], 'a_b=1; c=2'],
    ['a.b=1; c=2', ['a_b', 'a.b'], ['a.b'], 'c=2'],
    ['a.b=1; c=2', ['a.b', 'a_b'], ['a.b'], 'a.b=1; c=2'],
    ['GRAY=1; c=2', ['gray', 'GRAY'], ['GRAY'], 'c=2'],
  ] as const)(
    'AMP-01 names that spell each other: %s with %j keeping %j',
    (text, names, keep, want) => {
      expect(stripCookies(text, names, keep)).toBe(want);
      expect(stripRef(text, names, keep)).toBe(want);
    },
  );

  const token = fc.constantFrom(
    ...[
      'gray',
      'GRAY',
      'gray[0]',
      'gray[',
      'grayx',
      'xgray',
      'gr%61y',
      '%67ray',
      '%47',
      '%E0%A4%A',
    ],
    ...[
      '__Host-gray',
      '..Host-gray',
      '__Secure-gray',
      'a_b',
      'a.b',
      'a b',
      'a+b',
      '\u017f',
      '\u0131',
    ],
    ...['=', '=', '=', ';', ';', ',', ' ', '\t', ' ; ', '; ', ', ', 'x', 'v', '%ZZ', '"', '\xa0'],
    ...['sid', 'SID', 'id', 'd', '%73', '%C5%BF', '__Secure-gray'],
  );
  const header = fc.array(token, { maxLength: 24 }).map((t) => t.join(''));
  const names = fc.constantFrom(
    ['gray'],
    ['__Host-gray', '__Secure-gray', 'gray'],
    ['a_b'],
    ['a.b', 'a_b'],
    ['gray', 'a_s'],
    ['__Secure-gray'],
    ['sid'],
    ['\u017f'],
    ['x\u0131', 'gray'],
  );
  it('AMP-01 any header: stripCookies and removeCookies equal the pair-by-pair reference', () => {
    fc.assert(
      fc.property(header, names, fc.boolean(), (text, list, keepFirst) => {
        const keep = keepFirst ? [list[0] as string] : [];
        const want = stripRef(text, list, keep);
        expect(stripCookies(text, list, keep)).toBe(want);
        expect(removeCookies(text, list)).toBe(stripRef(text, list, []));
        expect(removeCookies(text.split(/; /), list)).toBe(
          stripRef(text.split(/; /).join('; '), list, []),
        );
        // The probe that gates the fast path never misses a pair that goes.
        if (want !== text) expect(mayHoldCookie(text, list)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  }, 60_000);

  // AMP-03: a name of plain characters is judged by a length check and a folded compare, not
  // by the readers' general spelling walk. Names of every length around the ones listed (the
  // lengths are a 32-bit mask, 31 and over sharing a bit), any ASCII case, `ſ` / `ı` in the
  // names, the empty name, and plain characters next to the ones that are not (`.`, `[`, `%`,
  // `\x7f`, `é`) must give what the reference gives.
  const long = 'a'.repeat(31);
  const plainToken = fc.constantFrom(
    ...['gray', 'Gray', 'gRaY', 'GRAY', 'gray_uid', 'GRAY_UID', 'gray-', '-gray', 'grayy', 'gra'],
    ...['gray[uid', 'GRAY[UID', '_[Host-gray', 'gray[0]', 'gray]'],
    ...['__Host-gray', '__HOST-GRAY', '__host-Gray', '__Secure-gray', '__SECURE-GRAY', '_gray'],
    ...[long, long.toUpperCase(), `${long}a`, `${long}A`, long.slice(1), 'AB', 'abs', 'ABS', 'aBI'],
    ...['=', '=', ';', '; ', ',', ' ', '\t', '!', '~', '\x7f', '\u00e9', '.', '[', ']', '%41', '"'],
  );
  const plainHeader = fc.array(plainToken, { maxLength: 20 }).map((t) => t.join(''));
  const plainNames = fc.constantFrom(
    ['gray'],
    ['__Host-gray', '__Secure-gray', 'gray'],
    ['gray_uid', 'gray'],
    [long],
    [`${long}a`, 'gray'],
    ['', 'gray'],
    ['ab\u017f', 'gray'],
    ['ab\u0131'],
    ['GRAY', 'gray'],
    ['-gray'],
  );
  it('AMP-03 plain names: stripCookies equals the pair-by-pair reference', () => {
    fc.assert(
      fc.property(plainHeader, plainNames, fc.boolean(), (text, list, keepFirst) => {
        const keep = keepFirst ? [list[0] as string] : [];
        expect(stripCookies(text, list, keep)).toBe(stripRef(text, list, keep));
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  // Review 51 D1: the compiled probe is cached per array; a caller that changes its array, or
  // passes names whose joined text collides, must get the probe of the names it passes now.
  it('AMP-01 an array changed in place after its first use is read as it is now', () => {
    const names = ['gray'];
    expect(removeCookies('gray=beta; a=1', names)).toBe('a=1');
    names[0] = 'lane';
    expect(removeCookies('lane=beta; a=1', names)).toBe('a=1');
    names.push('gray');
    expect(removeCookies('lane=1; gray=2; a=1', names)).toBe('a=1');
    expect(removeCookies('lane=beta; a=1', ['lane\0gray'])).toBe('lane=beta; a=1');
    expect(removeCookies('lane=beta; a=1', ['lane', 'gray'])).toBe('a=1');
  });

  it('AMP-01 a fresh names array each call reads as the same list (removeCookies callers)', () => {
    for (let i = 0; i < 200; i++)
      expect(removeCookies(`a=1; gr%61y=${i}; b=2`, ['gray'])).toBe('a=1; b=2');
  });
});

/**
 * AMP-03: a header with more than 180 pairs that could spell a marker name (probe hits: no
 * browser keeps more than 180 cookies for a host) is judged up to the 180th of them; that pair
 * and everything after it go unjudged, so one request costs at most 180 judgements. What goes
 * never leaves a spelling behind; the pairs before the cut are kept byte for byte.
 */
describe('AMP-03 past 180 pairs that could spell a marker, the rest of the header goes', () => {
  const HIT_SHAPES = [
    'gray=x',
    'GRAY=%ZZ',
    'gray[0]=1',
    'gr%61y=2',
    '\u017fid=1',
    'gray_uid=1',
    'xgray=1',
    'a=gray',
    '__Host-gray=x',
    ' gray =x',
  ];
  const COUNTS = [1, 179, 180, 181, 182, 400, 1100];
  const SEPARATORS = ['; ', ';', ', '];
  const NAME_LISTS: readonly (readonly string[])[] = [
    ['gray'],
    ['__Host-gray', 'gray'],
    ['sid', 'gray'],
  ];
  const spelled = (pair: string, names: readonly string[]) => {
    const eq = pair.indexOf('=');
    return eq !== -1 && names.some((n) => spellsCookieRef(pair.slice(0, eq).trim(), n));
  };
  const rows = HIT_SHAPES.flatMap((shape) =>
    COUNTS.flatMap((n) => SEPARATORS.map((sep) => [shape, n, sep] as const)),
  );
  it.each(rows)('AMP-03 %j × %i joined with %j', (shape, n, sep) => {
    for (const names of NAME_LISTS) {
      if (!mayHoldCookie(shape, names)) continue;
      // A kept pair between every two hits, one before the first and one after the last.
      const parts = ['k0=a'];
      for (let i = 0; i < n; i++) parts.push(shape, `c${i}=v`);
      const text = parts.join(sep);
      const out = stripCookies(text, names, []);
      expect(out).toBe(stripRef(text, names, []));
      const left = (out ?? '').split(/[;,]/).map((p) => p.trim());
      // Nothing left spells a name, whatever was cut unjudged.
      expect(left.filter((p) => spelled(p, names))).toEqual([]);
      // Every kept pair before the 181st name that holds a hit stays, in order; none after it.
      // A hit in a value (`a=gray`) never counts.
      const eqAt = shape.indexOf('=');
      const counted = mayHoldCookie(shape.slice(0, eqAt), names);
      const judged = counted ? Math.min(n, 180) : n;
      const keptBefore = ['k0=a', ...Array.from({ length: judged }, (_, i) => `c${i}=v`)];
      const keptShapes = spelled(shape, names) ? [] : [shape.trim()];
      const expected =
        n <= 180 || !counted
          ? ['k0=a', ...Array.from({ length: n }, (_, i) => [...keptShapes, `c${i}=v`]).flat()]
          : [
              'k0=a',
              ...Array.from({ length: judged - 1 }, (_, i) => [...keptShapes, `c${i}=v`]).flat(),
              ...keptShapes,
              `c${judged - 1}=v`,
            ];
      expect(left.filter((p) => p !== '')).toEqual(expected);
      expect(keptBefore.every((p) => left.includes(p))).toBe(true);
      // As lines (HTTP/1.1 repeats, HTTP/2 crumbs): the same.
      expect(removeCookies(text.split(sep), names)).toBe(
        stripRef(text.split(sep).join('; '), names, []),
      );
    }
  });

  it.each([
    ['exactly kept, the 180th hit', 179, 'gray=beta', 'gray=beta'],
    ['exactly kept, the 181st hit', 180, 'gray=beta', undefined],
  ] as const)('AMP-03 a marker kept as written: %s', (_label, before, marker, survives) => {
    const text = [...Array.from({ length: before }, (_, i) => `xgray${i}=1`), marker, 'z=1'].join(
      '; ',
    );
    const out = stripCookies(text, ['gray'], ['gray']) ?? '';
    expect(out.split('; ').includes(marker)).toBe(survives !== undefined);
    expect(out.split('; ').includes('z=1')).toBe(survives !== undefined);
    expect(out).toBe(stripRef(text, ['gray'], ['gray']));
  });

  // Review 52 D1: only a name can spell a marker, so only a name holding a hit counts; a browser
  // sends a list value (`cart=[…]`, `viewed=1,2,…`) as one cookie, whatever its `,` pieces say.
  it.each([
    [
      'a list value of 400 pieces holding gray',
      `cart=[${Array.from({ length: 400 }, () => '{"c":"gray"}').join(',')}]`,
    ],
    ['400 values holding GrAy', Array.from({ length: 400 }, (_, i) => `v${i}=GrAy`).join('; ')],
    ['400 names without "=" holding gray', Array.from({ length: 400 }, () => 'gray').join('; ')],
    [
      'a list of 400 a=gray pieces',
      `prefs=${Array.from({ length: 400 }, (_, i) => `k${i}=gray`).join(',')}`,
    ],
  ])('AMP-03 %s: none counts, the marker after it is judged, the rest kept', (_l, lead) => {
    for (const [keep, version] of [
      [[], undefined],
      [['gray'], 'beta'],
    ] as const) {
      const text = `${lead}; gray=beta; GRAY=x; sid=s1`;
      const out = stripCookies(text, ['__Host-gray', 'gray'], keep, version);
      expect(out).toBe(`${lead}; ${keep.length > 0 ? 'gray=beta; ' : ''}sid=s1`);
    }
  });

  // Review 52 D2: a kept name keeps only the pairs whose value reads as the version read; past
  // the readers' 180 pairs the same name can say something else, and a reader that takes the
  // last pair (Python's SimpleCookie) would read that.
  it.each([
    ['another value', 'gray=canary', false],
    ['the same value', 'gray=beta', true],
    ['the same value quoted', 'gray="beta"', true],
    ['the same value escaped', 'gray=%62eta', true],
    ['the same value with OWS', 'gray = beta ', true],
    ['an empty value', 'gray=', false],
    ['a bad escape', 'gray=%ZZ', false],
  ])('AMP-03 a kept marker repeated past the readers with %s', (_l, later, stays) => {
    const between = Array.from({ length: 200 }, (_, i) => `a${i}=1`).join('; ');
    const text = `gray=beta; ${between}; ${later}; sid=s1`;
    const out = stripCookies(text, ['gray'], ['gray'], 'beta');
    expect(out).toBe(`gray=beta; ${between}; ${stays ? `${later}; ` : ''}sid=s1`);
  });

  it('AMP-03 an empty name spells nothing and counts nothing', () => {
    const text = Array.from({ length: 200 }, (_, i) => `c${i}=1`).join('; ');
    expect(removeCookies(text, [''])).toBe(text);
    expect(removeCookies(`${text}; GRAY=1`, ['', 'gray'])).toBe(text);
    expect(mayHoldCookie(text, [''])).toBe(false);
  });
});
