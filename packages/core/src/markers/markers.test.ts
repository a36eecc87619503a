import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/parse.js';
import { readBaggageMember, removeBaggageMember, setBaggageMember } from './baggage.js';
import { readCookie } from './cookie.js';
import { parseMarker } from './parse.js';
import { readQueryParam } from './query.js';

const config = parseConfig({ versions: ['stable', 'beta'], default: 'stable' });
const ci = parseConfig({ versions: ['stable', 'beta'], default: 'stable', caseInsensitive: true });

describe('parseMarker (S-HDR)', () => {
  it.each([undefined, '', '    ', '\t', []])('HDR-01/HDR-02 %j is absent', (raw) => {
    expect(parseMarker(raw as never, config)).toEqual({ kind: 'absent' });
  });
  it('HDR-03 beta is accepted', () => {
    expect(parseMarker('beta', config)).toEqual({ kind: 'valid', version: 'beta' });
  });
  it('HDR-04 a well-formed unknown version is ignored as unknown', () => {
    expect(parseMarker('gamma', config)).toEqual({ kind: 'invalid', reason: 'unknown' });
  });
  it.each(['BETA', 'Beta'])(
    'HDR-05 %s is ignored (no case folding) unless caseInsensitive',
    (raw) => {
      expect(parseMarker(raw, config)).toEqual({ kind: 'invalid', reason: 'charset' });
      expect(parseMarker(raw, ci)).toEqual({ kind: 'valid', version: 'beta' });
    },
  );
  it.each([' beta ', '\tbeta', 'beta\t '])('HDR-06 OWS around %j is trimmed', (raw) => {
    expect(parseMarker(raw, config)).toEqual({ kind: 'valid', version: 'beta' });
  });
  it.each(['beta, stable', 'beta, beta', 'beta,beta'])('HDR-07 %j is ambiguous', (raw) => {
    expect(parseMarker(raw, config)).toEqual({ kind: 'invalid', reason: 'ambiguous' });
  });
  it('HDR-07 several values (header arrays) are ambiguous', () => {
    expect(parseMarker(['beta', 'beta'], config)).toEqual({ kind: 'invalid', reason: 'ambiguous' });
    expect(parseMarker(['beta'], config)).toEqual({ kind: 'valid', version: 'beta' });
  });
  it.each(['beta;q=1', '"beta"', 'beta=1', 'be ta'])('HDR-08 %j is ignored (charset)', (raw) => {
    expect(parseMarker(raw, config)).toEqual({ kind: 'invalid', reason: 'charset' });
  });
  it('HDR-09 over-long values are rejected by length before any scan', () => {
    expect(parseMarker('a'.repeat(5000), config)).toEqual({ kind: 'invalid', reason: 'too_long' });
    expect(parseMarker('a'.repeat(16_000), config)).toEqual({
      kind: 'invalid',
      reason: 'too_long',
    });
    expect(parseMarker('a'.repeat(65), config)).toEqual({ kind: 'invalid', reason: 'too_long' });
  });
  it.each(['b\u00e9ta', '\u00e7\u0081\u00b0\u00e5\u00ba\u00a6', 'beta\u200b', 'b\u0000eta'])(
    'HDR-10 %j is ignored',
    (raw) => {
      expect(parseMarker(raw, config)).toMatchObject({ kind: 'invalid' });
    },
  );
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'HDR-11 %s is ignored',
    (raw) => {
      expect(parseMarker(raw, config).kind).toBe('invalid');
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    },
  );
});

describe('readCookie (S-CK)', () => {
  const read = (h: string | string[]) => {
    const r = readCookie(h, 'gray');
    return r.kind === 'value' ? parseMarker(r.value, config) : r;
  };
  it('CK-01 gray=beta', () =>
    expect(read('a=1; gray=beta')).toEqual({ kind: 'valid', version: 'beta' }));
  it('CK-02 distinct duplicates are ambiguous; equal duplicates are one value', () => {
    expect(read('gray=beta; gray=stable')).toEqual({ kind: 'ambiguous' });
    expect(read('gray=beta; x=1; gray=beta')).toEqual({ kind: 'valid', version: 'beta' });
  });
  it.each(['gray=%E0%A4%A', 'gray=%ZZ'])('CK-03 %s does not throw and is ignored', (h) => {
    expect(read(h)).toEqual({ kind: 'invalid', reason: 'charset' });
  });
  it('CK-04 one DQUOTE pair is stripped', () => {
    expect(read('gray="beta"')).toEqual({ kind: 'valid', version: 'beta' });
    expect(read('gray=""beta""')).toEqual({ kind: 'invalid', reason: 'charset' });
  });
  it('CK-05 a 4,000-byte value and a 200-cookie header are handled in bounded time', () => {
    expect(read(`gray=${'b'.repeat(4000)}`)).toEqual({ kind: 'invalid', reason: 'too_long' });
    const many = Array.from({ length: 200 }, (_, i) => `c${i}=${'v'.repeat(20)}`).join('; ');
    // AMP-01: the scan stops at 180 pairs, so a marker after 200 cookies is not seen (ignored).
    expect(read(`${many}; gray=beta`)).toEqual({ kind: 'absent' });
    expect(read(`gray=beta; ${many}`)).toEqual({ kind: 'valid', version: 'beta' });
    expect(readCookie('x'.repeat(20_000), 'gray')).toEqual({ kind: 'too_long' });
  });
  it('CK-06 __proto__ cookies pollute nothing', () => {
    expect(read('__proto__=beta; constructor=x')).toEqual({ kind: 'absent' });
    expect(({} as Record<string, unknown>)['beta']).toBeUndefined();
  });
  it('CK-07 an encoded CRLF decodes and is rejected', () => {
    expect(read('gray=beta%0d%0a')).toEqual({ kind: 'invalid', reason: 'charset' });
  });
  it('CK-08 several Cookie lines are joined with "; "', () => {
    expect(read(['a=1', 'gray=beta'])).toEqual({ kind: 'valid', version: 'beta' });
    expect(read(['gray=beta', 'gray=stable'])).toEqual({ kind: 'ambiguous' });
  });
  it('does not confuse names that end with the cookie name', () => {
    expect(read('xgray=beta; gray_uid=u1')).toEqual({ kind: 'absent' });
  });
});

describe('readQueryParam (S-QS)', () => {
  const read = (q: string) => {
    const r = readQueryParam(q, 'gray');
    return r.kind === 'value' ? parseMarker(r.value, config) : r;
  };
  it('QS-02 ?gray=beta', () =>
    expect(read('?gray=beta')).toEqual({ kind: 'valid', version: 'beta' }));
  it('QS-03 a repeated key is ambiguous', () =>
    expect(read('?gray=beta&gray=stable')).toEqual({ kind: 'ambiguous' }));
  it.each(['?gray[]=beta', '?gray[__proto__]=x', '?gray[toString]=1'])(
    'QS-04 %s is a different key',
    (q) => {
      expect(read(q)).toEqual({ kind: 'absent' });
    },
  );
  it.each(['?gray=%ZZ', '?gray=beta%0d%0a', '?gray=%00beta'])(
    'QS-05 %s does not throw and is ignored',
    (q) => {
      expect(read(q)).toEqual({ kind: 'invalid', reason: 'charset' });
    },
  );
  it('QS-06 keys are case-sensitive, fragments are not query, 8 KB queries are capped', () => {
    expect(read('?GRAY=beta')).toEqual({ kind: 'absent' });
    expect(read('?gray=beta#frag')).toEqual({ kind: 'valid', version: 'beta' });
    expect(read(`?x=${'a'.repeat(8 * 1024)}&gray=beta`)).toEqual({ kind: 'too_long' });
  });
  it('decodes like URLSearchParams', () => {
    for (const q of ['gray=be%74a', 'a=1&gray=beta&b', 'gray=+beta+', 'gray']) {
      const expected = new URLSearchParams(q).get('gray');
      const r = readQueryParam(q, 'gray');
      expect(r.kind === 'value' ? r.value : null).toBe(expected);
    }
  });
});

describe('readBaggageMember (S-BG)', () => {
  const read = (h: string | string[]) => {
    const r = readBaggageMember(h, 'gray');
    return r.kind === 'value' ? parseMarker(r.value, config) : r;
  };
  it('BG-01 gray=beta', () =>
    expect(read('gray=beta')).toEqual({ kind: 'valid', version: 'beta' }));
  it('BG-02 duplicates with different values are ambiguous', () => {
    expect(read('gray=beta,gray=stable')).toEqual({ kind: 'ambiguous' });
  });
  it.each(['gray=beta%0D%0AX-Evil%3A1', 'gray=%FF', 'gray=%ZZ'])('BG-03 %s is ignored', (h) => {
    expect(read(h).kind === 'valid').toBe(false);
  });
  it('BG-04 properties are ignored', () =>
    expect(read('gray=beta;ttl=10;prio')).toEqual({ kind: 'valid', version: 'beta' }));
  it('BG-05 quotes and raw non-ASCII are ignored; OWS is trimmed', () => {
    expect(read('gray="beta"')).toEqual({ kind: 'invalid', reason: 'charset' });
    expect(read('gray=b\u00e9ta')).toEqual({ kind: 'invalid', reason: 'charset' });
    expect(read('gray = beta')).toEqual({ kind: 'valid', version: 'beta' });
  });
  it('BG-06 a member after the 180th is not seen (as in OpenTelemetry)', () => {
    const members = Array.from({ length: 200 }, (_, i) => (i === 189 ? 'gray=beta' : `k${i}=v`));
    expect(read(members.join(','))).toEqual({ kind: 'absent' });
    const early = Array.from({ length: 200 }, (_, i) => (i === 100 ? 'gray=beta' : `k${i}=v`));
    expect(read(early.join(','))).toEqual({ kind: 'valid', version: 'beta' });
  });
  it('BG-07 a 10 KB member is skipped; gray after an 8,100-byte prefix is past the total limit', () => {
    expect(read(`big=${'x'.repeat(10_000)},gray=beta`)).toEqual({ kind: 'valid', version: 'beta' });
    const prefix = Array.from({ length: 2 }, (_, i) => `p${i}=${'x'.repeat(4090)}`).join(',');
    expect(prefix.length).toBe(8_187);
    expect(read(`${prefix},gray=beta`)).toEqual({ kind: 'absent' });
  });
  it('BG-08 several headers are one list, with limits over the combination', () => {
    expect(read(['a=1', 'gray=beta'])).toEqual({ kind: 'valid', version: 'beta' });
    const full = Array.from({ length: 180 }, (_, i) => `k${i}=v`).join(',');
    expect(read([full, 'gray=beta'])).toEqual({ kind: 'absent' });
  });
  it('BG-09 __proto__ members pollute nothing and do not hide gray', () => {
    expect(read('__proto__=beta,constructor=beta,gray=stable')).toEqual({
      kind: 'valid',
      version: 'stable',
    });
    expect(({} as Record<string, unknown>)['beta']).toBeUndefined();
  });
  it('BG-10 a 1 MiB header is scanned without decoding its tail', () => {
    const huge = `gray=beta,${'k=v,'.repeat(262_144)}`;
    // Stops at 180 members: far less work than the 1 MiB input (timed in bench/, hostile suite).
    expect(read(huge)).toEqual({ kind: 'valid', version: 'beta' });
  });
  it('BG-02 a header read again is the remembered read of that header and key, never another', () => {
    // The string path remembers its last scan (the OTel propagator and the engine read the same
    // request's header back to back); a list of headers is never remembered, so `[h]` is a
    // fresh scan of the same text to compare with.
    const headers = [
      'a=1,gray=beta',
      'gray=beta,gray=stable',
      'gray=beta,gray=beta',
      'lane=canary,gray=beta',
      'gr%61y=stable',
      'gray=%ZZ',
      ' gray = beta ;ttl=1',
      'k=v',
      '',
      `big=${'x'.repeat(10_000)},gray=beta`,
      `${Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',')},gray=beta`,
      `gray=beta,${'k=v,'.repeat(5_000)}`,
    ];
    const keys = ['gray', 'lane', 'GRAY', 'a', 'k'];
    const pairs = headers.flatMap((h) => keys.map((k) => [h, k] as const));
    // Each pair twice in a row, then every pair after every other (a different header or key).
    const sequence = [
      ...pairs.flatMap((p) => [p, p]),
      ...pairs.flatMap((p, i) => pairs.slice(i, i + 7).flatMap((q) => [p, q])),
    ];
    for (const [h, k] of sequence)
      expect([h, k, readBaggageMember(h, k)]).toEqual([h, k, readBaggageMember([h], k)]);
    // A hit is the remembered object itself; another key on the same header scans again.
    const first = readBaggageMember('a=1,gray=beta', 'gray');
    expect(readBaggageMember('a=1,gray=beta', 'gray')).toBe(first);
    expect(readBaggageMember('a=1,gray=beta', 'a')).toEqual({ kind: 'value', value: '1' });
    expect(readBaggageMember('a=1,gray=beta', 'gray')).not.toBe(first);
    // A header over twice the byte cap is never kept.
    const long = `gray=beta,${'k=v,'.repeat(5_000)}`;
    const once = readBaggageMember(long, 'gray');
    expect(readBaggageMember(long, 'gray')).not.toBe(once);
    expect(readBaggageMember(long, 'gray')).toEqual(once);
  });
});

describe('setBaggageMember (OUT-01, OUT-08)', () => {
  it('OUT-01 sets gray exactly once, first, replacing an upstream value and keeping the rest', () => {
    expect(setBaggageMember('a=1,gray=stable,b=2;p', 'gray', 'beta')).toBe('gray=beta,a=1,b=2;p');
    expect(setBaggageMember(undefined, 'gray', 'beta')).toBe('gray=beta');
  });
  it('OUT-08 with 179 upstream members or 8,150 bytes, ours still fits and nothing is cut in half', () => {
    const many = Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',');
    const out = setBaggageMember(many, 'gray', 'beta').split(',');
    expect(out[0]).toBe('gray=beta');
    expect(out.length).toBe(180);
    const big = `a=${'x'.repeat(4000)},b=${'y'.repeat(4000)},c=${'z'.repeat(140)}`;
    const header = setBaggageMember(big, 'gray', 'beta');
    expect(header.length).toBeLessThanOrEqual(8192);
    for (const member of header.split(','))
      expect(member).toMatch(/^(gray=beta|a=x{4000}|b=y{4000}|c=z{140})$/);
    expect(readBaggageMember(header, 'gray')).toEqual({ kind: 'value', value: 'beta' });
  });
  it('removeBaggageMember drops only our key', () => {
    expect(removeBaggageMember('gray=beta,a=1', 'gray')).toBe('a=1');
    expect(removeBaggageMember('gray=beta', 'gray')).toBeUndefined();
  });
});

describe('readBaggageMember: the no-key prefilter (issue 20)', () => {
  // The prefilter answers `absent` only where the full scan would: the key is matched after
  // trimming and percent-decoding, so it needs the key's own text or an escape.
  it.each([
    ['tenant=acme,region=eu', 'absent'],
    ['a=1,b=2;gray=ignored-property', 'absent'],
    ['gr%61y=beta', 'beta'],
    ['  gray  =beta', 'beta'],
    ['x=%ZZ,gray=beta', 'beta'],
    ['x=1,gray=beta,gray=stable', 'ambiguous'],
    ['graylane=beta', 'absent'],
    ['', 'absent'],
  ])('%s → %s', (header, expected) => {
    const r = readBaggageMember(header, 'gray');
    expect(r.kind === 'value' ? r.value : r.kind).toBe(expected);
    // the same answer through the array form (no prefilter there)
    const viaArray = readBaggageMember([header], 'gray');
    expect(viaArray).toEqual(r);
  });
});
