import { ROOT_CONTEXT, propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { createConfigStore, parseConfig } from '@graylane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { GrayPropagator, getGrayBaggage, setGrayBaggage } from '../src/index.js';
import type { VersionPolicy } from '../src/index.js';
import { getter, setter, useAlsContextManager } from './setup-context.js';
import type { Headers } from './setup-context.js';

const teardown = useAlsContextManager();
afterAll(teardown);

/*
 * I2 (closed world) for every `versions` shape a user passes to the OTel helpers. The docs call
 * the raw document `config` everywhere, so `versions: config` must work like the list; a shape
 * that is none of the accepted ones is a construction error (GrayPropagator) or accepts nothing
 * (the helpers, which never throw). Review 126 D2.
 */
const doc = { versions: ['stable', 'beta'], default: 'stable', rules: [] };
const withRegexRule = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [{ id: 'r', match: { header: { 'x-u': { regex: '^qa-' } } }, version: 'beta' }],
};

/** Shapes that accept exactly `stable` and `beta`. */
const good: ReadonlyArray<readonly [string, VersionPolicy]> = [
  ['a list', ['stable', 'beta']],
  ['a frozen list', Object.freeze(['stable', 'beta'])],
  ['a parsed GrayConfig', parseConfig(doc)],
  ['the raw config document', doc],
  ['a frozen raw document', Object.freeze({ ...doc })],
  ['a raw document with a regex rule (no engine needed)', withRegexRule as VersionPolicy],
  ['a raw document without rules', { versions: ['stable', 'beta'], default: 'beta' }],
  [
    'a custom MarkerPolicy (control)',
    { hasVersion: (v: string) => v === 'stable' || v === 'beta' },
  ],
];

const hostile = new Proxy(
  {},
  {
    get() {
      throw new Error('hostile getter');
    },
  },
);
/** Shapes that are none of the accepted ones. */
const junk: ReadonlyArray<readonly [string, unknown]> = [
  ['a version string', 'beta'],
  ['the document as JSON text', JSON.stringify(doc)],
  ['a number', 42],
  ['null', null],
  ['true', true],
  ['an empty object', {}],
  ['a Map of the document', new Map(Object.entries(doc))],
  ['a Set of versions', new Set(['stable', 'beta'])],
  ['a config store', createConfigStore({ initial: doc })],
  ['an empty list', []],
  ['a list with an upper-case label', ['stable', 'BETA']],
  ['a list with a number', ['stable', 42]],
  ['a list with CRLF', ['stable', 'beta\r\n']],
  ['a document whose versions is a string', { versions: 'beta', default: 'beta' }],
  ['a document whose default is not declared', { versions: ['stable'], default: 'beta' }],
  ['a document without default', { versions: ['stable', 'beta'] }],
  ['a function', () => ['stable', 'beta']],
  ['a Proxy that throws on every read', hostile],
];

function bag(entries: Record<string, string>): Context {
  const b = propagation.createBaggage(
    Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { value: v }])),
  );
  return propagation.setBaggage(ROOT_CONTEXT, b);
}
const member = (ctx: Context, key = 'gray') => propagation.getBaggage(ctx)?.getEntry(key)?.value;

/** Carrier → the `gray` member GrayPropagator must leave in the context (versions stable, beta). */
const extractRows: ReadonlyArray<readonly [Headers, string | undefined]> = [
  [{ baggage: 'gray=beta' }, 'beta'],
  [{ baggage: 'tenant=t,gray=stable' }, 'stable'],
  [{ baggage: 'gray=evil' }, undefined],
  [{ baggage: 'gray=gamma' }, undefined],
  [{ baggage: 'gray=beta,gray=stable' }, undefined],
  [{ baggage: 'gray=BETA' }, undefined],
  [{ baggage: 'gray=__proto__' }, undefined],
  [{ 'x-gray-id': 'beta' }, 'beta'],
  [{ 'x-gray-id': 'stable', baggage: 'gray=evil' }, 'stable'],
  [{ 'x-gray-id': 'evil', baggage: 'gray=evil' }, undefined],
  [{ 'x-gray-id': 'gamma', baggage: 'gray=beta' }, 'beta'],
  [{ 'x-gray-id': ['beta', 'stable'] }, undefined],
];

describe('I2 GrayPropagator: every accepted versions shape keeps the closed world', () => {
  for (const [name, versions] of good) {
    const p = new GrayPropagator({ versions, baggage: new W3CBaggagePropagator() });
    it.each(extractRows.map(([h, want]) => [JSON.stringify(h), h, want] as const))(
      `I2 versions=${name}: extract %s`,
      (_label, headers, want) => {
        expect(member(p.extract(ROOT_CONTEXT, headers, getter))).toBe(want);
      },
    );

    it(`I2 versions=${name}: inject keeps graylane's member and the app's baggage`, () => {
      // graylane's outbound code put `gray=beta` on the request; the instrumentation rewrites it.
      const carrier: Headers = { baggage: 'gray=beta' };
      p.inject(bag({ tenant: 'acme', gray: 'stable' }), carrier, setter);
      expect(carrier['baggage']).toBe('gray=beta,tenant=acme');
      const unknown: Headers = { baggage: 'gray=gamma' };
      p.inject(bag({ tenant: 'acme' }), unknown, setter);
      expect(unknown['baggage']).toBe('tenant=acme');
    });
  }
});

describe('I2 GrayPropagator: any other versions shape is a construction error', () => {
  it.each(junk)('I2 versions=%s → INVALID_OPTIONS', (_name, versions) => {
    expect(() => new GrayPropagator({ versions: versions as VersionPolicy, baggage: [] })).toThrow(
      expect.objectContaining({
        name: 'GraylaneError',
        code: 'INVALID_OPTIONS',
        message: expect.stringMatching(/GrayPropagator: versions/),
      }),
    );
  });

  it('I2 a config store is named, with what to pass instead', () => {
    const store = junk.find(([name]) => name === 'a config store')![1];
    expect(() => new GrayPropagator({ versions: store as VersionPolicy })).toThrow(
      /config store \(pass store\.get\(\)\.config\)/,
    );
  });

  it('I2 a bad document says which field is wrong', () => {
    expect(
      () => new GrayPropagator({ versions: { versions: ['stable'], default: 'beta' } }),
    ).toThrow(/\$\.default/);
  });

  it('control: no versions, and null options, accept any well-formed label', () => {
    const p = new GrayPropagator(null as unknown as undefined);
    expect(member(p.extract(ROOT_CONTEXT, { 'x-gray-id': 'gamma' }, getter))).toBe('gamma');
  });
});

describe('I2 baggage helpers: every versions shape, never a throw', () => {
  it.each(good)('I2 versions=%s: get/set accept stable and beta only', (_name, versions) => {
    const o = { versions };
    expect(getGrayBaggage(bag({ gray: 'beta' }), o)).toBe('beta');
    expect(getGrayBaggage(bag({ gray: 'gamma' }), o)).toBeUndefined();
    expect(getGrayBaggage(bag({ gray: 'evil!' }), o)).toBeUndefined();
    expect(member(setGrayBaggage(ROOT_CONTEXT, 'beta', o))).toBe('beta');
    const replaced = setGrayBaggage(bag({ gray: 'stable', tenant: 't' }), 'beta', o);
    expect([member(replaced), member(replaced, 'tenant')]).toEqual(['beta', 't']);
    const dropped = setGrayBaggage(bag({ gray: 'stable', tenant: 't' }), 'gamma', o);
    expect([member(dropped), member(dropped, 'tenant')]).toEqual([undefined, 't']);
  });

  it.each(junk)('I2 versions=%s: accepts no version (fails closed)', (_name, versions) => {
    const o = { versions: versions as VersionPolicy };
    // Not even a label the bad option happens to list: the option as a whole is unusable.
    for (const v of ['stable', 'beta']) {
      expect(getGrayBaggage(bag({ gray: v }), o)).toBeUndefined();
      expect(member(setGrayBaggage(ROOT_CONTEXT, v, o))).toBeUndefined();
      // A member already there is not left standing under a version that could not be checked.
      const ctx = setGrayBaggage(bag({ gray: 'beta', tenant: 't' }), v, o);
      expect([member(ctx), member(ctx, 'tenant')]).toEqual([undefined, 't']);
    }
  });

  it('I2 a caseInsensitive raw document folds BETA as the parsed config does', () => {
    const ci = { versions: ['stable', 'beta'], default: 'stable', caseInsensitive: true };
    const p = new GrayPropagator({ versions: ci });
    expect(member(p.extract(ROOT_CONTEXT, { 'x-gray-id': 'BETA' }, getter))).toBe('beta');
    expect(getGrayBaggage(bag({ gray: 'BETA' }), { versions: ci })).toBe('beta');
    expect(getGrayBaggage(bag({ gray: 'BETA' }), { versions: parseConfig(ci) })).toBe('beta');
  });
});

describe('I1/I2 extract fails closed', () => {
  /** The wrapped W3C propagator reads the carrier first; graylane's own read then fails. */
  const failingOn = (header: string, afterReads: number) => {
    let reads = 0;
    return {
      keys: (c: Headers) => Object.keys(c),
      get: (c: Headers, k: string) => {
        if (k.toLowerCase() === header && ++reads > afterReads) throw new Error('carrier broke');
        return c[k.toLowerCase()];
      },
    };
  };

  it.each([
    ['the baggage read', 'baggage', 1],
    ['the X-Gray-Id read', 'x-gray-id', 0],
  ] as const)('I1 %s throws: the carrier member stays out', (_name, header, after) => {
    for (const [, versions] of good) {
      const p = new GrayPropagator({ versions, baggage: new W3CBaggagePropagator() });
      const carrier = { baggage: 'gray=evil,tenant=t' };
      const ctx = p.extract(ROOT_CONTEXT, carrier, failingOn(header, after));
      expect(member(ctx)).toBeUndefined();
      // In-process context given to extract keeps its own (trusted) member.
      const given = bag({ gray: 'stable' });
      const kept = p.extract(given, carrier, failingOn(header, after));
      expect(member(kept)).toBe('stable');
    }
  });

  it('I2 a MarkerPolicy whose hasVersion throws accepts nothing', () => {
    const versions = {
      hasVersion: () => {
        throw new Error('policy broke');
      },
    };
    const p = new GrayPropagator({ versions, baggage: new W3CBaggagePropagator() });
    for (const carrier of [{ baggage: 'gray=beta' }, { 'x-gray-id': 'beta' }]) {
      expect(member(p.extract(ROOT_CONTEXT, carrier, getter))).toBeUndefined();
    }
    expect(getGrayBaggage(bag({ gray: 'beta' }), { versions })).toBeUndefined();
    expect(member(setGrayBaggage(bag({ gray: 'stable' }), 'beta', { versions }))).toBeUndefined();
  });
});
