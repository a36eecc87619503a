import { describe, expect, it } from 'vitest';
import { re2 } from '../../test/fixtures.js';
import { decide } from '../rules/evaluate.js';
import { explain } from '../rules/explain.js';
import type { GrayRequest } from '../rules/types.js';
import { normalizeDocument } from './normalize.js';
import { parseConfig, validateConfig } from './parse.js';
import { parseInstant } from './window.js';

/**
 * Review 58: `prefix` / `suffix` stopped matching values over 8,192 characters (a cap that bounded
 * no work: they compare the literal's characters only); RFC 3339 instants with a leap second or a
 * fraction of 10+ digits were refused; `split: []` was refused with a message about the maximum.
 * Rows named `(control)` held before.
 */

type Carrier = 'path' | 'header' | 'cookie' | 'query' | 'attr';
const CARRIERS: readonly Carrier[] = ['path', 'header', 'cookie', 'query', 'attr'];

function matchFor(carrier: Carrier, matcher: object): object {
  switch (carrier) {
    case 'path':
      return { path: matcher };
    case 'header':
      return { header: { 'x-v': matcher } };
    case 'cookie':
      return { cookie: { c: matcher } };
    case 'query':
      return { query: { q: matcher } };
    case 'attr':
      return { attrs: { a: matcher } };
  }
}

function requestWith(carrier: Carrier, value: string): GrayRequest {
  switch (carrier) {
    case 'path':
      return { path: value };
    case 'header':
      return { headers: { 'x-v': value } };
    case 'cookie':
      return { cookies: { c: value } };
    case 'query':
      return { query: (name) => (name === 'q' ? value : undefined) };
    case 'attr':
      return { attrs: { a: value } };
  }
}

const LENGTHS = [8192, 8193, 10_000, 65_536, 1_000_000];
const HEAD = '/admin/';
const TAIL = '.json';

/** [name, matcher, value of `length` characters, matches?] */
function rows(length: number, carrier: string): [string, object, string, boolean][] {
  const pad = (head: string, tail: string, ch = 'a'): string =>
    head + ch.repeat(Math.max(0, length - head.length - tail.length)) + tail;
  const long = pad(HEAD, TAIL);
  const old = length <= 8192 ? '(control) ' : '';
  return [
    [`${old}prefix "/admin" holds`, { prefix: '/admin' }, long, true],
    [
      `${old}prefix of the whole value but its last character holds`,
      { prefix: long.slice(0, -1) },
      long,
      true,
    ],
    ['(control) prefix "/admix" does not hold', { prefix: '/admix' }, long, false],
    [`${old}suffix ".json" holds`, { suffix: TAIL }, long, true],
    [
      `${old}suffix of the whole value but its first character holds`,
      { suffix: long.slice(1) },
      long,
      true,
    ],
    ['(control) suffix ".jsonx" does not hold', { suffix: '.jsonx' }, long, false],
    [`${old}an empty prefix holds (every present value)`, { prefix: '' }, long, true],
    [`${old}a prefix equal to the whole value holds`, { prefix: long }, long, true],
    // A path holds non-ASCII percent-encoded (a raw `é` in a path rule is refused: review 75 N1).
    carrier === 'path'
      ? [
          `${old}a suffix in a non-ASCII value holds`,
          { suffix: '%C3%A9' },
          pad('/', '%C3%A9'),
          true,
        ]
      : [`${old}a suffix in a non-ASCII value holds`, { suffix: 'é' }, pad('/', 'é', '日'), true],
    ['(control) equals the value holds', { equals: long }, long, true],
    ['(control) equals a prefix of it does not hold', { equals: '/admin' }, long, false],
    [
      '(control) equals the value but one character does not hold',
      { equals: long.slice(0, -1) },
      long,
      false,
    ],
    ['(control) in a list holding the value holds', { in: ['x', long] }, long, true],
    ['(control) exists holds', { exists: true }, long, true],
    ['(control) a regex never runs on it (256-character cap)', { regex: '^/admin' }, long, false],
  ];
}

describe('RX-02: only a regex caps its subject; equals, in, prefix, suffix answer for any length', () => {
  const cases = LENGTHS.flatMap((length) =>
    CARRIERS.flatMap((carrier) =>
      rows(length, carrier).map(
        ([name, matcher, value, expected]) =>
          [`${name}, ${carrier}, ${length} chars`, carrier, matcher, value, expected] as const,
      ),
    ),
  );
  it.each(cases)('%s', (_name, carrier, matcher, value, expected) => {
    const config = parseConfig(
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: 'r', match: matchFor(carrier, matcher), version: 'beta' }],
      },
      { regex: re2 },
    );
    const req = requestWith(carrier, value);
    const want = expected ? 'beta' : 'stable';
    expect(decide(config, req).version).toBe(want);
    // explain tests the same matcher, and says so.
    const e = explain(config, req);
    expect(e.decision.version).toBe(want);
    expect(e.rules[0]?.details[0]).toMatch(expected ? /: yes$/ : /: no$/);
  });
});

describe('CFG-08: RFC 3339 instants as the RFC writes them', () => {
  const utc = Date.UTC;
  it.each([
    [
      'a leap second, 23:59:60Z → 23:59:59.999Z',
      '2016-12-31T23:59:60Z',
      utc(2016, 11, 31, 23, 59, 59, 999),
    ],
    ['a leap second with a fraction', '2016-12-31T23:59:60.5Z', utc(2016, 11, 31, 23, 59, 59, 999)],
    ['a leap second on 30 June', '2015-06-30T23:59:60Z', utc(2015, 5, 30, 23, 59, 59, 999)],
    [
      'the RFC §5.8 example, 1990-12-31T15:59:60-08:00',
      '1990-12-31T15:59:60-08:00',
      utc(1990, 11, 31, 23, 59, 59, 999),
    ],
    ['a leap second at +05:30', '2017-01-01T05:29:60+05:30', utc(2016, 11, 31, 23, 59, 59, 999)],
    [
      'a leap second, lower-case t and z',
      '2016-12-31t23:59:60z',
      utc(2016, 11, 31, 23, 59, 59, 999),
    ],
    [
      '10 fraction digits, truncated',
      '2026-12-01T09:00:00.1234567891Z',
      utc(2026, 11, 1, 9, 0, 0, 123),
    ],
    [
      '12 fraction digits of 9, truncated (not rounded into the next second)',
      '2026-12-01T09:00:00.999999999999Z',
      utc(2026, 11, 1, 9, 0, 0, 999),
    ],
    [
      '40 fraction digits with an offset',
      `2026-12-01T10:00:00.${'0'.repeat(39)}7+01:00`,
      utc(2026, 11, 1, 9),
    ],
    [
      '(control) 9 fraction digits',
      '2026-12-01T09:00:00.123456789Z',
      utc(2026, 11, 1, 9, 0, 0, 123),
    ],
    ['(control) 1 fraction digit', '2026-12-01T09:00:00.5Z', utc(2026, 11, 1, 9, 0, 0, 500)],
    ['(control) no fraction', '2026-12-01T09:00:00Z', utc(2026, 11, 1, 9)],
    ['(control) -00:00', '2026-12-01T09:00:00-00:00', utc(2026, 11, 1, 9)],
    ['(control) 29 February of a leap year', '2028-02-29T00:00:00Z', utc(2028, 1, 29)],
    ['(control) year 0099 is not 1999', '0099-01-01T00:00:00Z', Date.parse('0099-01-01T00:00:00Z')],
    ['(control) 23:59:59.999Z', '2016-12-31T23:59:59.999Z', utc(2016, 11, 31, 23, 59, 59, 999)],
  ])('accepts %s', (_name, text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  it.each([
    ['a :60 that is not the last second of a UTC day', '2016-12-31T12:00:60Z'],
    ['a :60 in minute 58', '2016-12-31T23:58:60Z'],
    ['a :60 at 23:59 local that is not 23:59 UTC', '2016-12-31T23:59:60+01:00'],
    ['(control) second 61', '2016-12-31T23:59:61Z'],
    ['(control) no offset', '2026-12-01T09:00:00'],
    ['(control) no offset, long fraction', '2026-12-01T09:00:00.1234567891'],
    ['(control) an empty fraction', '2026-12-01T09:00:00.Z'],
    ['(control) 30 February', '2026-02-30T00:00:00Z'],
    ['(control) 29 February of a common year', '2026-02-29T00:00:00Z'],
    ['(control) 2100 is not a leap year', '2100-02-29T00:00:00Z'],
    ['(control) hour 24', '2026-12-01T24:00:00Z'],
    ['(control) offset +24:00', '2026-12-01T09:00:00+24:00'],
    ['(control) offset +01:60', '2026-12-01T09:00:00+01:60'],
    ['(control) month 13', '2026-13-01T09:00:00Z'],
    ['(control) a space for T', '2026-12-01 09:00:00Z'],
  ])('refuses %s', (_name, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  const ruleAt = (window: object): unknown => ({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id: 'w', version: 'beta', window }],
  });

  it.each([
    ['until a leap second', { until: '2016-12-31T23:59:60Z' }],
    ['from a leap second in -08:00', { from: '1990-12-31T15:59:60-08:00' }],
    ['from a 10-digit fraction', { from: '2026-12-01T09:00:00.1234567891Z' }],
  ])('a window %s loads', (_name, window) => {
    expect(validateConfig(ruleAt(window)).ok).toBe(true);
  });

  it('a window until 23:59:60Z is half-open at 23:59:59.999Z', () => {
    const config = parseConfig(ruleAt({ until: '2016-12-31T23:59:60Z' }));
    const at = (now: number): string => decide(config, { now }).version;
    expect(at(Date.UTC(2016, 11, 31, 23, 59, 59, 998))).toBe('beta');
    expect(at(Date.UTC(2016, 11, 31, 23, 59, 59, 999))).toBe('stable');
  });

  it('a leap second and the 23:59:59.999Z it is read as are one config (no change, CFG-12)', () => {
    const a = parseConfig(ruleAt({ until: '2016-12-31T23:59:60Z' }));
    const b = parseConfig(ruleAt({ until: '2016-12-31T23:59:59.999Z' }));
    expect(a.hash).toBe(b.hash);
    expect(
      JSON.stringify(normalizeDocument(ruleAt({ until: '2016-12-31T23:59:60Z' }) as never)),
    ).toContain('2016-12-31T23:59:59.999Z');
  });

  it('schedule steps at a leap second and a long fraction load, strictly increasing', () => {
    const arms = (beta: number): object[] => [
      { version: 'beta', weight: beta },
      { version: 'stable', weight: 100 - beta },
    ];
    const doc = {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [
        {
          id: 's',
          split: arms(0),
          bucketBy: 'attr:u',
          schedule: [
            { at: '2016-12-31T23:59:59.998999999999Z', split: arms(5) },
            { at: '2016-12-31T23:59:60Z', split: arms(10) },
            { at: '2017-01-01T00:00:00Z', split: arms(20) },
          ],
        },
      ],
    };
    expect(validateConfig(doc).ok).toBe(true);
  });
});

describe('CFG-03: a split with no arms says so', () => {
  const doc = (split: unknown, versions = ['stable', 'beta']): unknown => ({
    versions,
    default: 'stable',
    rules: [{ id: 'r', split, bucketBy: 'attr:u' }],
  });
  const messages = (input: unknown): string[] => {
    const r = validateConfig(input);
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };
  it.each([
    ['split: []', doc([]), /split: must list at least one arm/],
    [
      'split: [] in a schedule step',
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          {
            id: 'r',
            split: [{ version: 'stable', weight: 100 }],
            bucketBy: 'attr:u',
            schedule: [{ at: '2026-12-01T00:00:00Z', split: [] }],
          },
        ],
      },
      /split: must list at least one arm/,
    ],
    ['split: {} (not a list)', doc({}), /split: must be a list of arms/],
    ['split: "beta" (not a list)', doc('beta'), /split: must be a list of arms/],
    [
      'three arms for two versions',
      doc([
        { version: 'beta', weight: 10 },
        { version: 'stable', weight: 80 },
        { version: 'beta', weight: 10 },
      ]),
      /split: lists 3 arms for 2 declared versions: one arm per version at most/,
    ],
    [
      'two arms for one version',
      doc(
        [
          { version: 'stable', weight: 50 },
          { version: 'stable', weight: 50 },
        ],
        ['stable'],
      ),
      /split: lists 2 arms for 1 declared version: one arm per version at most/,
    ],
  ])('%s', (_name, input, message) => {
    const got = messages(input);
    expect(
      got.some((m) => message.test(m)),
      got.join('\n'),
    ).toBe(true);
    expect(got.join('\n')).not.toMatch(/at most, like/);
  });
});
