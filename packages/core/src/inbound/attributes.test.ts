import { describe, expect, it } from 'vitest';
import { plainCarrier as carrier } from '../../test/fixtures.js';
import { parseConfig } from '../config/parse.js';
import { decide } from '../rules/evaluate.js';
import type { InboundCarrier } from './carrier.js';
import { createInboundEngine } from './engine.js';
import type { GrayAttributes } from './types.js';

const CONFIG = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'vip', match: { attrs: { plan: { equals: 'vip' } } }, version: 'beta' },
    { id: 'tier', match: { attrs: { tier: { equals: '2' } } }, version: 'beta' },
    { id: 'flag', match: { attrs: { staff: { equals: 'true' } } }, version: 'beta' },
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'attr:userId',
    },
  ],
};
const compiled = parseConfig(CONFIG);

/** The engine's decision for `attrs` on the no-marker fast path and on the general path. */
function viaEngine(attrs: unknown) {
  const engine = createInboundEngine(
    { config: CONFIG, attributes: () => attrs as GrayAttributes },
    { randomId: () => 'id' },
  );
  return {
    quick: engine.evaluate(carrier({}), null).decision,
    // An invalid marker cookie sends the request down the general path (extraction, edits).
    general: engine.evaluate(carrier({ cookie: 'gray=nope' }), null).decision,
  };
}

const pick = (d: {
  version: string;
  ruleId?: string | undefined;
  bucket?: number | undefined;
}) => ({
  version: d.version,
  ruleId: d.ruleId,
  bucket: d.bucket,
});

/** `plan` (read by the first rule) throws; `tier` matches the second rule. */
const trap = (): Record<string, unknown> =>
  Object.defineProperty({ tier: 2 }, 'plan', {
    enumerable: true,
    get() {
      throw new Error('session store down');
    },
  });

describe('attributes read alike by decide() and by the inbound engine', () => {
  // [label, value of `userId`]: every shape an `attributes` callback can produce.
  const VALUES: [string, unknown][] = [
    ['a string', 'user-4711'],
    ['an empty string', ''],
    ['an integer', 42],
    ['zero', 0],
    ['a negative fraction', -1.5],
    ['NaN (Number() of a missing header)', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['true', true],
    ['false', false],
    ['null', null],
    ['undefined', undefined],
    ['an array of strings', ['a', 'b']],
    ['a mixed array', ['a', 1]],
    ['an object', { id: 1 }],
    ['a boxed string', Object('user-4711')],
    ['a bigint', 10n],
    ['a symbol', Symbol('u')],
    ['a Date', new Date(0)],
    ['a 4 KiB string', 'u'.repeat(4096)],
  ];

  it.each(VALUES)(
    'WT-05 userId %s: the same decision on both paths and through decide()',
    (_l, value) => {
      const attrs = { userId: value };
      const expected = decide(compiled, { attrs: attrs as never });
      const got = viaEngine(attrs);
      expect(got.quick).toEqual(expected);
      expect(pick(got.general)).toEqual(pick(expected));
    },
  );

  it('WT-05 a userId that is not a finite number, a string or a boolean is no subject: the split is skipped', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, null, undefined, { id: 1 }, 10n]) {
      const d = viaEngine({ userId: value }).quick;
      expect(d, String(value)).toEqual({ version: 'stable', reason: 'default', source: 'default' });
    }
    // A finite number or a boolean is hashed as its string.
    expect(viaEngine({ userId: 42 }).quick).toEqual(decide(compiled, { attrs: { userId: '42' } }));
    expect(viaEngine({ userId: true }).quick).toEqual(
      decide(compiled, { attrs: { userId: 'true' } }),
    );
  });

  it.each([
    ['a number matched as its string', { tier: 2 }, 'tier'],
    ['a boolean matched as its string', { staff: true }, 'flag'],
    ['a string', { plan: 'vip' }, 'vip'],
  ])('conditions: %s', (_l, attrs, ruleId) => {
    const got = viaEngine(attrs);
    expect(got.quick.ruleId).toBe(ruleId);
    expect(got.general.ruleId).toBe(ruleId);
    expect(decide(compiled, { attrs }).ruleId).toBe(ruleId);
  });

  // [label, what the callback returns, the rule expected to decide (undefined: the default)]
  const SHAPES: [string, () => unknown, string | undefined][] = [
    ['a getter that throws, read before a matching attribute', trap, 'tier'],
    [
      'a proxy whose traps throw',
      () =>
        new Proxy(
          {},
          {
            has() {
              throw new Error('trap');
            },
            get() {
              throw new Error('trap');
            },
            getOwnPropertyDescriptor() {
              throw new Error('trap');
            },
          },
        ),
      undefined,
    ],
    ['an inherited attribute (not own)', () => Object.create({ plan: 'vip' }), undefined],
    ['a null-prototype object', () => Object.assign(Object.create(null), { plan: 'vip' }), 'vip'],
    ['`__proto__` as an own key', () => JSON.parse('{"__proto__": "x", "plan": "vip"}'), 'vip'],
    ['null', () => null, undefined],
    ['a string', () => 'plan', undefined],
    ['a number', () => 5, undefined],
  ];

  it.each(SHAPES)('attributes returning %s decide without throwing', (_l, make, ruleId) => {
    const got = viaEngine(make());
    expect(got.quick.ruleId).toBe(ruleId);
    expect(got.general.ruleId).toBe(ruleId);
    if (ruleId === undefined) expect(got.quick.reason).toBe('default');
  });
});

describe('the rules read only what they ask for', () => {
  /** A carrier that counts reads of its request-line getters. */
  function counting() {
    const reads = { method: 0, host: 0, headers: 0 };
    const headers: Record<string, string> = { 'x-team': 'qa' };
    const c: InboundCarrier = {
      header: (name) => headers[name],
      get headers() {
        reads.headers++;
        return headers;
      },
      get method() {
        reads.method++;
        return 'GET';
      },
      url: '/',
      get host() {
        reads.host++;
        return 'app.example';
      },
      secure: false,
      remoteAddress: '10.0.0.1',
    };
    return { c, reads };
  }

  it.each([
    ['attributes only', CONFIG, { method: 0, host: 0, headers: 0 }],
    [
      'two host rules, a method rule and a header rule',
      {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          { id: 'h1', match: { host: { equals: 'a.example' } }, version: 'beta' },
          { id: 'm', match: { method: { equals: 'POST' } }, version: 'beta' },
          { id: 'h2', match: { host: { suffix: '.internal' } }, version: 'beta' },
          { id: 'hd', match: { header: { 'x-team': { equals: 'dev' } } }, version: 'beta' },
        ],
      },
      { method: 1, host: 1, headers: 1 },
    ],
  ])(
    '%s: each request-line value is read at most once, and only when a rule reads it',
    (_l, config, expected) => {
      const engine = createInboundEngine(
        { config, attributes: () => ({ userId: 'u' }) },
        { randomId: () => 'id' },
      );
      const { c, reads } = counting();
      expect(engine.evaluate(c, null).decision.source).not.toBe('header');
      expect(reads).toEqual(expected);
    },
  );
});
