import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { JsonError, parseJson, toJsonValue } from './parse.js';

describe('parseJson', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\n\\u00e9\\"y"],"b":{"c":{}}, "d": []}';
    expect(JSON.parse(JSON.stringify(parseJson(text)))).toEqual(JSON.parse(text));
  });
  it('CFG-05 duplicate keys are rejected with their path', () => {
    expect(() => parseJson('{"rules":[{"weight":10,"weight":90}]}')).toThrow(
      /duplicate key "weight"/,
    );
    try {
      parseJson('{"rules":[{"weight":10,"weight":90}]}');
    } catch (err) {
      expect((err as JsonError).path).toBe('$.rules[0].weight');
    }
  });
  it.each([
    '{"__proto__":{"polluted":1}}',
    '{"a":{"constructor":{"prototype":{"x":1}}}}',
    '{"prototype":1}',
  ])('CFG-06 %s is rejected and Object.prototype stays clean', (text) => {
    expect(() => parseJson(text)).toThrow(/forbidden key/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
  it('CFG-07 depth 10,000 is rejected at the cap without a stack overflow', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    expect(() => parseJson(deep)).toThrow(/nesting deeper than 32/);
  });
  it.each(['{"a":1', '{"a":}', '[1,]', '{"a" 1}', '"\u0001"', 'tru', '{"a":1} x', '01'])(
    'rejects malformed %j',
    (t) => {
      expect(() => parseJson(t)).toThrow(JsonError);
    },
  );
  it('objects have a null prototype', () => {
    expect(Object.getPrototypeOf(parseJson('{"a":1}'))).toBeNull();
  });
});

describe('toJsonValue', () => {
  it('rejects own __proto__ keys made by JSON.parse, cycles and functions', () => {
    expect(() => toJsonValue(JSON.parse('{"__proto__":{"x":1}}'))).toThrow(/forbidden key/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => toJsonValue(cyclic)).toThrow(/nesting deeper/);
    expect(() => toJsonValue({ f: () => 1 })).toThrow(/not a JSON value/);
  });
});

describe('canonicalJson', () => {
  it('CFG-12 key order and whitespace do not change the canonical form', () => {
    const a = parseJson('{"b":1,"a":{"y":[1,2],"x":"s"}}');
    const b = parseJson('{ "a" : { "x" : "s", "y" : [ 1, 2 ] },\n "b" : 1 }');
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,2]},"b":1}');
  });
});
