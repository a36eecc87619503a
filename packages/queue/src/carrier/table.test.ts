import { describe, expect, it } from 'vitest';
import { readHeader } from '../../dist/index.js';

/** A structural stand-in for NATS `MsgHdrs`: iterable `[name, values[]]` with `keys()`. */
function natsLike(
  entries: [string, string[]][],
): Iterable<[string, string[]]> & { keys(): string[] } {
  return {
    [Symbol.iterator]: () => entries[Symbol.iterator](),
    keys: () => entries.map((e) => e[0]),
  };
}

describe('readHeader: every header shape brokers hand over', () => {
  it.each([
    ['plain object', { 'x-gray-id': 'beta' }, 'beta'],
    ['other case', { 'X-Gray-Id': 'beta' }, 'beta'],
    ['HDR-07 two spellings', { 'x-gray-id': 'beta', 'X-GRAY-ID': 'stable' }, ['beta', 'stable']],
    ['Map', new Map([['x-gray-id', 'beta']]), 'beta'],
    ['NATS MsgHdrs one value', natsLike([['X-Gray-Id', ['beta']]]), 'beta'],
    ['NATS MsgHdrs appended twice', natsLike([['x-gray-id', ['beta', 'beta']]]), ['beta', 'beta']],
    ['Confluent list', [{ a: '1' }, { 'x-gray-id': 'beta' }], 'beta'],
    [
      'Confluent list twice',
      [{ 'x-gray-id': 'beta' }, { 'x-gray-id': 'stable' }],
      ['beta', 'stable'],
    ],
    // Two values of a marker list tell it ambiguous; every value of baggage (one W3C list).
    ['kafkajs list value', { 'x-gray-id': ['beta', 'stable', 'x', 'y'] }, ['beta', 'stable']],
    ['absent', { other: 'beta' }, undefined],
    ['null table', null, undefined],
    ['string table', 'x-gray-id: beta', undefined],
  ])('%s', (_name, table, expected) => {
    expect(readHeader(table, 'x-gray-id')).toEqual(expected);
  });

  // MQ-44: every value of `baggage`, whatever the list's length (a marker list keeps two).
  it.each([2, 3, 10, 1000])('baggage list of %i values: every value', (n) => {
    const list = Array.from({ length: n }, (_, i) => `k${i}=v`);
    expect(readHeader({ baggage: list }, 'baggage')).toEqual(list);
    expect(readHeader(new Map([['Baggage', list]]), 'baggage')).toEqual(list);
    expect(readHeader({ 'x-gray-id': list }, 'x-gray-id')).toEqual(list.slice(0, 2));
    // The Confluent list: one entry per value (review 79 D4: a marker kept every entry).
    const entries = list.map((v) => ({ 'x-gray-id': v }));
    expect(readHeader(entries, 'x-gray-id')).toEqual(list.slice(0, 2));
    expect(
      readHeader(
        list.map((v) => ({ baggage: v })),
        'baggage',
      ),
    ).toEqual(list);
  });

  it('HDR-11 CK-06 a JSON-parsed __proto__ key is data, never the prototype', () => {
    const table = JSON.parse('{"__proto__":{"x-gray-id":"beta"},"constructor":"x"}') as object;
    expect(readHeader(table, 'x-gray-id')).toBeUndefined();
    expect(readHeader(table, '__proto__')).toEqual({ 'x-gray-id': 'beta' });
    expect(({} as Record<string, unknown>)['x-gray-id']).toBeUndefined();
  });

  it('GW-01 looks at every key: a marker after 10,000 others is read, a second spelling there too', () => {
    const table: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) table[`k${i}`] = 'v';
    table['x-gray-id'] = 'beta';
    expect(readHeader(table, 'x-gray-id')).toBe('beta');
    const early: Record<string, string> = { 'X-Gray-Id': 'stable' };
    for (let i = 0; i < 10_000; i++) early[`k${i}`] = 'v';
    expect(readHeader(early, 'x-gray-id')).toBe('stable');
    early['x-GRAY-id'] = 'beta';
    expect(readHeader(early, 'x-gray-id')).toEqual(['stable', 'beta']);
    const list = [
      ...Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: 'v' })),
      { 'x-gray-id': 'beta' },
    ];
    expect(readHeader(list, 'x-gray-id')).toBe('beta');
  });

  it('I1 a throwing iterator or getter reads as absent', () => {
    const bad = {
      keys: () => [],
      [Symbol.iterator]: () => {
        throw new Error('x');
      },
    };
    expect(readHeader(bad, 'x-gray-id')).toBeUndefined();
    const getter = Object.defineProperty({}, 'x-gray-id', {
      enumerable: true,
      get: () => {
        throw new Error('x');
      },
    });
    expect(readHeader(getter, 'x-gray-id')).toBeUndefined();
  });
});
