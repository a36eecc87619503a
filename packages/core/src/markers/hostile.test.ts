import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyBudget, propertyTimeout } from '../../../../tools/fc-budget.js';
import {
  mayHoldMember,
  readBaggageMember,
  removeBaggageMember,
  stripBaggageMember,
} from './baggage.js';
import { mayHoldCookie, parseCookiePairs, readCookie, removeCookies } from './cookie.js';
import { safeDecode } from './decode.js';
import { SliceJoin } from './join.js';
import { decodesTo, isTrimSpace } from './key-match.js';
import { parseQueryPairs, readQueryParam, removeQueryParam } from './query.js';
import { spellsCookieRef } from '../../test/cookie-spelling-ref.js';
import { spellsRef } from '../../test/spelling-ref.js';

/** Fastest of `n` runs, in ms: the minimum is what the code costs when the machine lets it run. */
function fastest(fn: () => unknown, n = 15): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    for (let k = 0; k < 5; k++) fn();
    best = Math.min(best, (performance.now() - t) / 5);
  }
  return best;
}

/**
 * Hostile cost over benign cost for inputs of the same size, measured interleaved in one test.
 * A ratio near the bound is measured again (at most three times, the lowest kept): a burst of
 * load from the other test worker can land on one side of a round; a super-linear cost stays
 * far above the bound in every attempt (8 KiB quadratic is hundreds of times).
 */
function costRatio(hostile: () => unknown, benign: () => unknown): number {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best >= 4; attempt++)
    best = Math.min(best, costRatioOnce(hostile, benign));
  return best;
}

function costRatioOnce(hostile: () => unknown, benign: () => unknown): number {
  fastest(hostile, 3);
  fastest(benign, 3);
  // Alternate the two, so a burst of load on the machine hits both sides, not one.
  let h = Infinity;
  let b = Infinity;
  for (let round = 0; round < 15; round++) {
    h = Math.min(h, fastest(hostile, 1));
    b = Math.min(b, fastest(benign, 1));
  }
  return h / Math.max(b, 0.002);
}

const repeat = (unit: string, bytes: number) => unit.repeat(Math.floor(bytes / unit.length));

describe('AMP-01 hostile carriers: no exceptions, every entry counted, bounded', () => {
  it(
    'AMP-01 safeDecode equals decodeURIComponent (or undefined where it throws), without throwing',
    () => {
      const ref = (s: string) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return undefined;
        }
      };
      const piece = fc.oneof(
        fc.constantFrom('%', '%Z', '%ZZ', '%2', '%41', '%C3%A9', '%E2%82%AC', '%F0%9F%98%80'),
        fc.constantFrom('%C0%80', '%ED%A0%80', '%F4%90%80%80', '%E0%A4%A', '%80', '%FF', '+', 'é'),
        fc.string({ maxLength: 3 }),
        fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
          const s = parts.join('');
          expect(safeDecode(s)).toBe(ref(s));
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );

  // [carrier, hostile input, benign input of about the same size, read]
  const cookieRows: [string, string, string][] = [
    ['16 KiB of pairs without "="', repeat('a;', 16_000), repeat('a=b; ', 16_000)],
    ['16 KiB of empty pairs', repeat(';', 16_000), repeat('a=b; ', 16_000)],
    ['16 KiB of bad escapes named gray', repeat('gray=%ZZ; ', 16_000), repeat('a=b; ', 16_000)],
    ['16 KiB of bad escapes in names', repeat('%ZZ=%E0%A4%A; ', 16_000), repeat('a=b; ', 16_000)],
    ['16 KiB of "=" only', repeat('=', 16_000), repeat('a=b; ', 16_000)],
    ['one pair without "=" then many "="', `a;${repeat('=;', 15_990)}`, repeat('a=b; ', 16_000)],
  ];
  it.each(cookieRows)(
    'AMP-01 cookie: %s is linear (≤ 5× a benign header)',
    (_n, hostile, benign) => {
      expect(() => readCookie(hostile, 'gray')).not.toThrow();
      const r = readCookie(hostile, 'gray');
      expect(r.kind === 'value' ? r.value : r.kind).toMatch(/^(absent|%ZZ)$/);
      expect(
        costRatio(
          () => readCookie(hostile, 'gray'),
          () => readCookie(benign, 'gray'),
        ),
      ).toBeLessThan(5);
      expect(
        costRatio(
          () => parseCookiePairs(hostile),
          () => parseCookiePairs(benign),
        ),
      ).toBeLessThan(5);
    },
  );

  const queryRows: [string, string, string][] = [
    ['8 KiB of bad-escape keys', repeat('%ZZ=1&', 8_000), repeat('ab=1&', 8_000)],
    ['8 KiB of empty keys', repeat('=1&', 8_000), repeat('ab=1&', 8_000)],
    ['8 KiB of "&"', repeat('&', 8_000), repeat('ab=1&', 8_000)],
    ['8 KiB of keys without "="', repeat('ab&', 8_000), repeat('ab=1&', 8_000)],
    ['8 KiB of invalid UTF-8 escapes', repeat('%C0%80=%ED%A0%80&', 8_000), repeat('ab=1&', 8_000)],
    ['8 KiB of "+" and "%" keys', repeat('+%2=%&', 8_000), repeat('ab=1&', 8_000)],
    // Near misses of the marker against benign keys of the same shape (a `+`, escapes): the
    // question is whether resembling the marker costs more than an ordinary escaped key.
    ['8 KiB of "+" keys as long as the marker', repeat('gr+y=1&', 8_000), repeat('ab+c=1&', 8_000)],
    ['8 KiB of escaped near-miss keys', repeat('%67ra%78=1&', 8_000), repeat('%61bc%64=1&', 8_000)],
  ];
  it.each(queryRows)('AMP-01 query: %s is linear (≤ 5× a benign query)', (_n, hostile, benign) => {
    expect(readQueryParam(hostile, 'gray').kind).toBe('absent');
    expect(
      costRatio(
        () => readQueryParam(hostile, 'gray'),
        () => readQueryParam(benign, 'gray'),
      ),
    ).toBeLessThan(5);
    expect(
      costRatio(
        () => parseQueryPairs(hostile),
        () => parseQueryPairs(benign),
      ),
    ).toBeLessThan(5);
  });

  const baggageRows: [string, string][] = [
    ['empty entries', ','],
    ['entries without "="', 'junk,'],
    ['empty keys', '=v,'],
    ['empty values', 'k=,'],
    ['bad escapes', '%ZZ=%ZZ,'],
    ['invalid UTF-8', '%C0%80=%ED%A0%80,'],
    ['properties only', ';p=1,'],
    ['unescaped keys as long as the marker', 'grayx=b,'],
    ['escaped near-miss keys', '%67ra%78=b,'],
  ];
  it.each(baggageRows)(
    'AMP-01 baggage: 1 MiB of %s counts toward 180 members and stops the scan',
    (_n, unit) => {
      const junk = repeat(unit, 1024 * 1024);
      // 179 junk entries leave room for gray as the 180th entry; 180 do not.
      expect(readBaggageMember(`${unit.repeat(179)}gray=beta`, 'gray')).toEqual({
        kind: 'value',
        value: 'beta',
      });
      expect(readBaggageMember(`${unit.repeat(180)}gray=beta`, 'gray').kind).toBe('absent');
      expect(readBaggageMember(`${junk}gray=beta`, 'gray').kind).toBe('absent');
      const benign = repeat('k=v,', 1024 * 1024);
      expect(
        costRatio(
          () => readBaggageMember(junk, 'gray'),
          () => readBaggageMember(benign, 'gray'),
        ),
      ).toBeLessThan(5);
    },
  );

  it('AMP-01 the cookie scan stops at 180 pairs and the query scan at 256 parameters, parsed or not', () => {
    const pairs = (n: number, unit: string) => Array.from({ length: n }, () => unit);
    for (const unit of ['c=1', 'junk', '', '%ZZ=%ZZ']) {
      expect(readCookie([...pairs(179, unit), 'gray=beta'].join(';'), 'gray')).toEqual({
        kind: 'value',
        value: 'beta',
      });
      expect(readCookie([...pairs(180, unit), 'gray=beta'].join(';'), 'gray').kind).toBe('absent');
      const parsed = parseCookiePairs([...pairs(180, unit), 'gray=beta'].join(';'));
      expect(parsed !== 'too_long' && parsed.has('gray')).toBe(false);
    }
    for (const unit of ['q=1', 'junk', '', '%ZZ=1', '=']) {
      expect(readQueryParam([...pairs(255, unit), 'gray=beta'].join('&'), 'gray')).toEqual({
        kind: 'value',
        value: 'beta',
      });
      expect(readQueryParam([...pairs(256, unit), 'gray=beta'].join('&'), 'gray').kind).toBe(
        'absent',
      );
      const parsed = parseQueryPairs([...pairs(256, unit), 'gray=beta'].join('&'));
      expect(parsed !== 'too_long' && parsed.has('gray')).toBe(false);
    }
  });

  it('AMP-01 baggage: an early gray member is still read in front of 1 MiB of junk', () => {
    expect(readBaggageMember(`gray=beta,${repeat('%ZZ=%ZZ,', 1024 * 1024)}`, 'gray')).toEqual({
      kind: 'value',
      value: 'beta',
    });
  });

  it.each([
    ['gray=beta,a=1', 'a=1'],
    ['a=1, gray = beta ;p ,b=2', 'a=1,b=2'],
    ['gray=,a=1', 'a=1'],
    ['gray=%ZZ,a=1', 'a=1'],
    ['%67ray=beta,a=1', 'a=1'],
    ['grayx=1,xgray=2', 'grayx=1,xgray=2'],
    ['gray=beta', undefined],
  ])('GW-02 removeBaggageMember(%j) removes every gray member, valid or not', (input, out) => {
    expect(removeBaggageMember(input, 'gray')).toBe(out);
  });

  it('AMP-01 removeBaggageMember over 64 KiB of junk is linear (≤ 5× benign)', () => {
    const junk = repeat('%ZZ=%ZZ,', 64 * 1024);
    const benign = repeat('k=v,', 64 * 1024);
    expect(
      costRatio(
        () => removeBaggageMember(junk, 'gray'),
        () => removeBaggageMember(benign, 'gray'),
      ),
    ).toBeLessThan(5);
  });

  it.each([
    ['a=1; gray=beta; b=2', 'a=1; b=2'],
    ['gray=beta', undefined],
    [' gray = x ;__Host-gray=y;c=3', 'c=3'],
    ['grayish=1; gray_uid=2', 'grayish=1; gray_uid=2'],
    ['a; gray=beta', 'a'],
  ])('GW-02 removeCookies(%j) drops only the marker pairs', (input, out) => {
    expect(removeCookies(input, ['gray', '__Host-gray'])).toBe(out);
  });

  it('GW-02 past the caps: a cookie or baggage tail that could hide a marker is dropped, a query marker goes alone (review 145 D3)', () => {
    const pairs = Array.from({ length: 200 }, (_, i) => `c${i}=1`);
    const cookie = pairs.join('; ');
    expect(removeCookies(`gray=x; ${cookie}`, ['gray'])).toBe(cookie);
    // CK-11: removal judges every pair, past the readers' 180 too: the rest stays.
    expect(removeCookies(`${cookie}; gray=beta`, ['gray'])).toBe(cookie);
    expect(removeCookies(`${cookie}; gray_uid=1`, ['gray'])).toBe(`${cookie}; gray_uid=1`);
    const params = Array.from({ length: 300 }, (_, i) => `p${i}=1`);
    const q = params.join('&');
    expect(removeQueryParam(`/a?gray=x&${q}`, 'gray')).toBe(`/a?${q}`);
    expect(removeQueryParam(`/a?${q}&gray=beta`, 'gray')).toBe(`/a?${q}`);
    expect(removeQueryParam(`/a?${q}&%67ray=beta&z=%41`, 'gray')).toBe(`/a?${q}&z=%41`);
    expect(removeQueryParam(`/a?${q}&name=Grayson&q=a%20b`, 'gray')).toBe(
      `/a?${q}&name=Grayson&q=a%20b`,
    );
    const members = Array.from({ length: 200 }, (_, i) => `k${i}=v`);
    const bag = members.join(',');
    expect(stripBaggageMember(`gray=x,${bag}`, 'gray')).toEqual({ rest: bag, removed: 1 });
    expect(stripBaggageMember(`${bag},gray=beta`, 'gray')).toEqual({
      rest: members.slice(0, 180).join(','),
      removed: 1,
    });
    const junk = '%ZZ=%ZZ,'.repeat(64 * 1024);
    expect(stripBaggageMember(`${junk}gray=beta`, 'gray').removed).toBe(1);
  });

  it.each([
    ['/a?x=1&gray=beta', '/a?x=1'],
    ['/a?gray=beta', '/a'],
    ['/a?gray=beta&gray=stable&y', '/a?y'],
    ['/a?%67ray=beta&g=1', '/a?g=1'],
    ['/a?x=1', '/a?x=1'],
    ['/a', '/a'],
    ['/a?graybeta=1&x=gray', '/a?graybeta=1&x=gray'],
  ])('GW-02 removeQueryParam(%j) drops only the marker parameter', (input, out) => {
    expect(removeQueryParam(input, 'gray')).toBe(out);
  });

  // The array-based removals these functions replaced (GW-02), kept as the reference the
  // single-pass versions must equal on any input.
  const refScanQuery = (text: string, visit: (part: string) => void, limit = 256): number => {
    let from = 0;
    for (let parts = 0; from <= text.length; parts++) {
      if (parts >= limit) return from;
      let end = text.indexOf('&', from);
      if (end === -1) end = text.length;
      if (end > from) visit(text.slice(from, end));
      from = end + 1;
    }
    return text.length;
  };
  // The spellings removeQueryParam removes (key-spelling.ts), written the slow, obvious way
  // (test/spelling-ref.ts); every `&` part kept, empty ones too; of a removed part, its `;`
  // parameters after the first that do not spell the name stay (review 147 D3).
  const refRemoveQuery = (url: string, name: string): string => {
    const q = url.indexOf('?');
    if (q === -1) return url;
    const hash = url.indexOf('#', q);
    const end = hash === -1 ? url.length : hash;
    const keyOf = (p: string) => (p.includes('=') ? p.slice(0, p.indexOf('=')) : p);
    const kept: string[] = [];
    let removed = false;
    for (const part of url.slice(q + 1, end).split('&')) {
      if (part === '' || !spellsRef(keyOf(part), name)) {
        kept.push(part);
        continue;
      }
      removed = true;
      const subs = part
        .split(';')
        .slice(1)
        .map((sub) => (keyOf(sub) !== '' && spellsRef(keyOf(sub), name) ? '' : sub));
      if (subs.some((sub) => sub !== '')) kept.push(subs.map((sub) => `;${sub}`).join(''));
    }
    if (!removed) return url;
    const rest = kept.some((p) => p !== '') ? `?${kept.join('&')}` : '';
    return `${url.slice(0, q)}${rest}${url.slice(end)}`;
  };
  const ows = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');
  // CK-10: pairs end at `;` or `,`; a pair goes when its name spells a marker name to some reader
  // (any ASCII case, PHP's `gray[0]`, a decoded `gr%61y`: GW-02; a `gray=` inside another
  // cookie's value stays: review 165 D3); kept runs stay byte for byte, joined with `; ` where a
  // pair went. Past 180 pairs whose name could spell a marker (AMP-03), that pair and the rest go.
  const refSpells = (pair: string, names: string[]): boolean => {
    const eq = pair.indexOf('=');
    return eq !== -1 && names.some((n) => spellsCookieRef(pair.slice(0, eq), n));
  };
  const refRemoveCookies = (text: string, names: string[]): string | undefined => {
    const runs: string[] = [];
    let run: [number, number] | undefined;
    let cut = false;
    const pairs = text.split(/[;,]/);
    let at = 0;
    let hits = 0;
    for (const raw of pairs) {
      const eq = raw.indexOf('=');
      if (eq !== -1 && mayHoldCookie(raw.slice(0, eq), names) && ++hits > 180) {
        cut = true;
        break;
      }
      const lead = raw.length - raw.replace(/^[ \t]+/, '').length;
      const pair = ows(raw);
      if (refSpells(pair, names)) {
        cut = true;
        if (run) runs.push(text.slice(...run));
        run = undefined;
      } else if (pair !== '') run = [run ? run[0] : at + lead, at + lead + pair.length];
      at += raw.length + 1;
    }
    if (!cut) return text;
    if (run) runs.push(text.slice(...run));
    return runs.length > 0 ? runs.join('; ') : undefined;
  };
  const refStripBaggage = (text: string, key: string) => {
    const kept: string[] = [];
    let removed = 0;
    let total = 0;
    let start = 0;
    for (let count = 0; start < text.length; count++) {
      let end = text.indexOf(',', start);
      if (end === -1) end = text.length;
      const length = end - start;
      const size = (count === 0 ? 0 : 1) + length;
      if (count >= 180 || (length <= 4096 && total + size > 8192)) {
        const tail = text.slice(start).trim();
        if (tail.includes(key) || tail.includes('%')) removed++;
        else if (tail !== '') kept.push(tail);
        break;
      }
      if (length <= 4096) total += size;
      const entry = ows(text.slice(start, end));
      const pair = entry.split(';')[0] as string;
      const eq = pair.indexOf('=');
      if (eq > 0 && safeDecode(pair.slice(0, eq).trim()) === key) removed++;
      else if (entry !== '') kept.push(entry);
      start = end + 1;
    }
    return { rest: kept.length > 0 ? kept.join(',') : undefined, removed };
  };
  const token = fc.constantFrom(
    ...['gray', '%67', 'ray', '%', 'ZZ', '%E0%A4%A', '%C0%80', '%2B', '%25', '%20', 'a', 'é'],
    ...['=', '&', ';', ',', ' ', '\t', '\n', '+', '#', '?', '\u3000', '\u00a0', '\ufeff', 'x'],
    ...['__Host-gray', '%67%72%61%79', '%C3%A9'],
  );
  // Short inputs, and inputs repeated past the caps (180 pairs / members, 256 parameters).
  const carrierText = fc
    .tuple(
      fc.array(token, { maxLength: 24 }),
      fc.nat({ max: 400 }),
      fc.array(token, { maxLength: 8 }),
    )
    .map(([unit, times, tail]) => unit.join('').repeat(Math.max(1, times)) + tail.join(''));
  const markerName = fc.constantFrom('gray', '__Host-gray', 'a', 'é', 'g y', '%', 'x');

  it(
    'GW-02 the single-pass removals (and the query parse) equal the array-based reference on any input',
    () => {
      fc.assert(
        fc.property(carrierText, markerName, (text, name) => {
          expect(removeQueryParam(`/p?${text}`, name)).toBe(refRemoveQuery(`/p?${text}`, name));
          expect(removeQueryParam(text, name)).toBe(refRemoveQuery(text, name));
          expect(removeCookies(text, [name, 'gray'])).toBe(refRemoveCookies(text, [name, 'gray']));
          expect(stripBaggageMember(text, name)).toEqual(refStripBaggage(text, name));
          if (text.length <= 8192) {
            const pairs = new Map<string, string[]>();
            refScanQuery(text.replace(/^\?/, '').split('#')[0] as string, (part) => {
              const eq = part.indexOf('=');
              const key = safeDecode(eq === -1 ? part : part.slice(0, eq), true);
              if (key !== undefined)
                pairs.set(key, [...(pairs.get(key) ?? []), eq === -1 ? '' : part.slice(eq + 1)]);
            });
            expect(parseQueryPairs(text)).toEqual(pairs);
          }
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );

  it(
    'AMP-01 decodesTo(text, start, end, name) equals safeDecode(slice) === name, in place',
    () => {
      fc.assert(
        fc.property(carrierText, markerName, fc.boolean(), (text, name, plus) => {
          const s = text.length > 64 ? text.slice(0, 64) : text;
          for (let a = 0; a <= s.length; a += 3) {
            for (let b = a; b <= s.length; b += 2) {
              expect(decodesTo(s, a, b, name, plus)).toBe(safeDecode(s.slice(a, b), plus) === name);
            }
          }
        }),
        propertyBudget(),
      );
    },
    propertyTimeout(),
  );

  it('AMP-01 isTrimSpace is exactly what String#trim removes, for every UTF-16 code unit', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      expect([c, isTrimSpace(c)]).toEqual([c, `${ch}x`.trim() === 'x']);
    }
  });

  it.each([
    [
      'a&b&c',
      [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
      '&',
      'a&b&c',
    ],
    [
      'a&b&&c',
      [
        [0, 1],
        [2, 3],
        [5, 6],
      ],
      '&',
      'a&b&c',
    ],
    [
      'a; b;c',
      [
        [0, 1],
        [3, 4],
        [5, 6],
      ],
      '; ',
      'a; b; c',
    ],
    [
      'ab,cd',
      [
        [3, 5],
        [0, 2],
      ],
      ',',
      'cd,ab',
    ],
    ['abc', [], ',', undefined],
  ] as [string, [number, number][], string, string | undefined][])(
    'GW-02 SliceJoin over %j joins the parts as Array#join would',
    (text, parts, sep, out) => {
      const join = new SliceJoin(text, sep);
      for (const [a, b] of parts) join.add(a, b);
      expect(join.result()).toBe(out);
      expect(parts.map(([a, b]) => text.slice(a, b)).join(sep) || undefined).toBe(out);
    },
  );

  // The benign cookie header is judged pair by pair too (`grayx` holds the probe's `gray`): a
  // header with no hit costs one native search, which would make any judging look expensive.
  const removalRows: [string, string, string, string][] = [
    ['query: bad-escape keys', 'query', repeat('%ZZ=1&', 8_000), repeat('ab=1&', 8_000)],
    ['query: escaped marker keys', 'query', repeat('%67ray=1&', 8_000), repeat('ab=1&', 8_000)],
    ['query: "+" keys', 'query', repeat('gr+y=1&', 16_000), repeat('ab=1&', 16_000)],
    [
      'cookie: bad escapes',
      'cookie',
      repeat('gray=%ZZ; %E0%A4%A=x; ', 16_000),
      repeat('grayx=b; ', 16_000),
    ],
    ['cookie: marker pairs', 'cookie', repeat('gray=x; ', 16_000), repeat('grayx=b; ', 16_000)],
    ['baggage: junk', 'baggage', repeat('%ZZ=%ZZ,', 1024 * 1024), repeat('k=v,', 1024 * 1024)],
    [
      'baggage: long unescaped keys',
      'baggage',
      repeat('grayx=b,', 1024 * 1024),
      repeat('k=v,', 1024 * 1024),
    ],
    [
      'baggage: escaped marker keys',
      'baggage',
      repeat('%67ray=x,', 1024 * 1024),
      repeat('k=v,', 1024 * 1024),
    ],
  ];
  const removal = (carrier: string, text: string) =>
    carrier === 'query'
      ? removeQueryParam(`/?${text}`, 'gray')
      : carrier === 'cookie'
        ? removeCookies(text, ['__Host-gray', 'gray'])
        : stripBaggageMember(text, 'gray');
  it.each(removalRows)(
    'AMP-01 removal, %s: one linear pass (≤ 5× a benign one)',
    (_n, carrier, hostile, benign) => {
      expect(
        costRatio(
          () => removal(carrier, hostile),
          () => removal(carrier, benign),
        ),
      ).toBeLessThan(5);
    },
  );
});

describe('AMP-01 mayHoldMember: a baggage header of escapes that spell nothing of the key is left alone', () => {
  // Before, any `%` (a value's `%20`, junk `%ZZ` keys) sent the header to be read and rebuilt,
  // and the engine's fast path to the general one.
  it.each([
    ['gray', 'a=%20b,c=d', false],
    ['gray', '%ZZ=%ZZ,%ZZ=1', false],
    ['gray', '%C0%80=x,%E0%A4%A=1', false],
    ['gray', 'tenant=acme%2Ceu', false],
    ['gray', 'k=%47RAY', false],
    ['gray', '%67ray=beta', true],
    ['gray', 'gr%61y=beta', true],
    ['gray', 'gr%61Y=beta', true],
    ['gray', 'x=1,gray=beta', true],
    ['gray', 'x=%6', false],
    ['lane-é', 'lane-%C3%A9=beta', true],
    ['lane-é', 'lane%2D%C3=beta', true],
    // Past the readers' 8192 bytes, any `%` (a bounded answer for 1 MiB of junk).
    ['gray', `${'a=b,'.repeat(2100)}%ZZ=1`, true],
    ['gray', 'a=b,'.repeat(2100), false],
  ] as const)('AMP-01 %s in %j: %s', (key, text, want) => {
    expect(mayHoldMember(text, key)).toBe(want);
  });

  const piece = fc.constantFrom(
    ...['gray', 'g', 'r', 'a', 'y', '%67', '%72', '%61', '%79', '%47', '%6', '%ZZ', '%20', '%2C'],
    ...['=', '=', ',', ',', ' ', ';', 'x', 'beta', '%C3%A9', 'é', '\t'],
  );
  it('AMP-01 where mayHoldMember is false, no member reads or strips as the key', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
        const text = pieces.join('');
        if (mayHoldMember(text, 'gray')) return;
        expect(readBaggageMember(text, 'gray').kind).toBe('absent');
        expect(stripBaggageMember(text, 'gray').removed).toBe(0);
      }),
      { numRuns: 20_000 },
    );
  });
});
