import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyBudget, propertyTimeout } from '../../../../tools/fc-budget.js';
import { readBaggageMember, removeBaggageMember, stripBaggageMember } from './baggage.js';
import { parseCookiePairs, readCookie, removeCookies } from './cookie.js';
import { safeDecode } from './decode.js';
import { parseQueryPairs, readQueryParam, removeQueryParam } from './query.js';

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

/** Hostile cost over benign cost for inputs of the same size, measured interleaved in one test. */
function costRatio(hostile: () => unknown, benign: () => unknown): number {
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

  it('GW-02 past the caps, a tail that could hide a marker is dropped; any other tail is kept', () => {
    const pairs = Array.from({ length: 200 }, (_, i) => `c${i}=1`);
    const cookie = pairs.join('; ');
    expect(removeCookies(`gray=x; ${cookie}`, ['gray'])).toBe(cookie);
    expect(removeCookies(`${cookie}; gray=beta`, ['gray'])).toBe(pairs.slice(0, 180).join('; '));
    const params = Array.from({ length: 300 }, (_, i) => `p${i}=1`);
    const q = params.join('&');
    expect(removeQueryParam(`/a?gray=x&${q}`, 'gray')).toBe(`/a?${q}`);
    expect(removeQueryParam(`/a?${q}&gray=beta`, 'gray')).toBe(
      `/a?${params.slice(0, 256).join('&')}`,
    );
    expect(removeQueryParam(`/a?${q}&%67ray=beta`, 'gray')).toBe(
      `/a?${params.slice(0, 256).join('&')}`,
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
});
