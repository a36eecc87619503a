import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
  suppressTracing,
} from '@opentelemetry/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { GrayPropagator, getGrayBaggage, setGrayBaggage } from '../src/index.js';
import { getter, setter, useAlsContextManager } from './setup-context.js';
import type { Headers } from './setup-context.js';

const teardown = useAlsContextManager();
afterAll(teardown);

const versions = ['stable', 'beta'];
const gray = new GrayPropagator({ versions });
/** The documented setup: GrayPropagator stands in for (wraps) the W3C baggage propagator. */
const composite = new CompositePropagator({
  propagators: [
    new W3CTraceContextPropagator(),
    new GrayPropagator({ versions, baggage: new W3CBaggagePropagator() }),
  ],
});
/** The first-wave setup, still met in the wild: W3C baggage and GrayPropagator side by side. */
const legacy = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), gray],
});
const otelOnly = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

function extract(
  headers: Headers,
  p: { extract: typeof gray.extract } = composite,
): string | undefined {
  return getGrayBaggage(p.extract(ROOT_CONTEXT, headers, getter));
}

function inject(ctx: Context, p: { inject: typeof gray.inject } = composite): Headers {
  const carrier: Headers = {};
  p.inject(ctx, carrier, setter);
  return carrier;
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('GrayPropagator extract', () => {
  it('BG-01 baggage gray=beta is accepted', () => {
    expect(extract({ baggage: 'gray=beta' })).toBe('beta');
    expect(extract({ baggage: 'gray=beta' }, gray)).toBe('beta');
    expect(extract({ baggage: 'gray=beta' }, legacy)).toBe('beta');
  });

  it('BG-02 a duplicated key with different values is ambiguous → absent (OTel alone keeps the last)', () => {
    expect(
      getGrayBaggage(otelOnly.extract(ROOT_CONTEXT, { baggage: 'gray=beta,gray=stable' }, getter)),
    ).toBe('stable');
    expect(extract({ baggage: 'gray=beta,gray=stable' })).toBeUndefined();
    expect(extract({ baggage: 'gray=beta,gray=stable' }, gray)).toBeUndefined();
    // Other members survive the removal.
    const ctx = composite.extract(ROOT_CONTEXT, { baggage: 'a=1,gray=beta,gray=stable' }, getter);
    expect(propagation.getBaggage(ctx)?.getEntry('a')?.value).toBe('1');
  });

  it('BG-03 CRLF and bad percent-encodings are ignored', () => {
    for (const b of ['gray=beta%0D%0AX-Evil%3A1', 'gray=%FF', 'gray=%ZZ'])
      expect(extract({ baggage: b })).toBeUndefined();
  });

  it('BG-04 properties are ignored', () => {
    expect(extract({ baggage: 'gray=beta;ttl=10;prio' })).toBe('beta');
  });

  it('BG-05 quotes and raw non-ASCII are ignored, OWS is trimmed', () => {
    expect(extract({ baggage: 'gray="beta"' })).toBeUndefined();
    expect(extract({ baggage: 'gray=béta' })).toBeUndefined();
    expect(extract({ baggage: 'gray = beta' })).toBe('beta');
  });

  it('BG-06 gray at member 190 of 200 is not seen (OTel stops at 180, and so do we)', () => {
    const members = Array.from({ length: 200 }, (_, i) => (i === 189 ? 'gray=beta' : `k${i}=v`));
    expect(extract({ baggage: members.join(',') }, gray)).toBeUndefined();
    expect(extract({ baggage: members.join(',') }, otelOnly)).toBeUndefined();
  });

  it('BG-08 two baggage headers are one list', () => {
    expect(extract({ baggage: ['a=1', 'gray=beta'] })).toBe('beta');
    expect(extract({ baggage: ['gray=stable', 'gray=beta'] })).toBeUndefined();
  });

  it('BG-09 prototype names do not pollute and do not hide gray', () => {
    expect(extract({ baggage: '__proto__=beta,constructor=beta,gray=stable' })).toBe('stable');
    expect(({} as Record<string, unknown>)['beta']).toBeUndefined();
  });

  it('HDR-04 / I2 unknown versions are ignored', () => {
    expect(extract({ baggage: 'gray=gamma' })).toBeUndefined();
    expect(extract({ 'x-gray-id': 'gamma' })).toBeUndefined();
  });

  it('PREC-01 the header wins over baggage', () => {
    expect(extract({ 'x-gray-id': 'beta', baggage: 'gray=stable' })).toBe('beta');
  });

  it('PREC-02 an invalid header falls through to valid baggage', () => {
    expect(extract({ 'x-gray-id': 'BETA', baggage: 'gray=stable' })).toBe('stable');
  });

  it('HDR-07 a repeated header is ambiguous → falls through', () => {
    expect(extract({ 'x-gray-id': ['beta', 'stable'] })).toBeUndefined();
    expect(extract({ 'x-gray-id': 'beta, beta' })).toBeUndefined();
    expect(extract({ 'x-gray-id': ['beta'] })).toBe('beta');
  });

  it('keeps traceparent and other baggage when composed with the SDK defaults', () => {
    const ctx = composite.extract(
      ROOT_CONTEXT,
      { traceparent: TRACEPARENT, baggage: 'a=1,gray=beta' },
      getter,
    );
    expect(trace.getSpanContext(ctx)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(propagation.getBaggage(ctx)?.getEntry('a')?.value).toBe('1');
    expect(getGrayBaggage(ctx)).toBe('beta');
  });

  it('I1 never throws, even when the getter throws', () => {
    const bad = {
      keys: () => [],
      get: () => {
        throw new Error('boom');
      },
    };
    expect(gray.extract(ROOT_CONTEXT, {}, bad)).toBe(ROOT_CONTEXT);
  });

  it('P1 extract never throws and yields a configured version or nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (h, b) => {
        const v = extract({ 'x-gray-id': h, baggage: b });
        return v === undefined || versions.includes(v);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('GrayPropagator inject', () => {
  const base = () => {
    const bag = propagation.createBaggage({ tenant: { value: 'acme' }, gray: { value: 'stable' } });
    return propagation.setBaggage(ROOT_CONTEXT, bag);
  };
  const span = (ctx: Context) =>
    trace.setSpanContext(ctx, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });

  it('OTB-01 OpenTelemetry never sends the marker: no gray member, no X-Gray-Id; other members and traceparent kept', () => {
    const headers = inject(span(setGrayBaggage(base(), 'beta')));
    expect(headers).toEqual({ traceparent: TRACEPARENT, baggage: 'tenant=acme' });
  });

  it('OTB-01 a context whose only member is the marker sends no baggage header at all', () => {
    expect(inject(setGrayBaggage(ROOT_CONTEXT, 'beta'))).toEqual({});
  });

  it('OTB-01 with another key, that key is the one withheld', () => {
    const p = new GrayPropagator({ baggageKey: 'lane', baggage: new W3CBaggagePropagator() });
    const ctx = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ lane: { value: 'beta' }, gray: { value: 'x' } }),
    );
    expect(inject(ctx, p)).toEqual({ baggage: 'gray=x' });
  });

  it('OTB-04 never writes X-Gray-Id, in the documented composite or beside a W3C baggage propagator', () => {
    for (const p of [composite, legacy, gray]) {
      const headers = inject(setGrayBaggage(base(), 'beta'), p);
      expect(headers['x-gray-id']).toBeUndefined();
    }
    // The first-wave composite still lets W3CBaggagePropagator send the member: graylane's
    // outbound hooks remove it from hosts that are not allowlisted (docs/opentelemetry.md).
    expect(inject(setGrayBaggage(base(), 'beta'), legacy)['baggage']).toBe('tenant=acme,gray=beta');
  });

  it('OTB-01 a marker member graylane already put on the request (an allowlisted host) is kept, never added', () => {
    const ctx = setGrayBaggage(base(), 'beta');
    const carrier: Headers = { baggage: 'gray=beta,x=1', 'x-gray-id': 'beta' };
    composite.inject(ctx, carrier, setter);
    expect(carrier).toEqual({ baggage: 'gray=beta,tenant=acme', 'x-gray-id': 'beta' });
    for (const existing of [
      {},
      { baggage: 'x=1' },
      { Baggage: 'gray=BETA' },
      { baggage: ['gray=beta', 'gray=stable'] },
    ]) {
      const c: Headers = { ...existing };
      composite.inject(ctx, c, setter);
      expect(c['baggage'], JSON.stringify(existing)).toBe('tenant=acme');
    }
    const upper: Headers = { Baggage: 'gray=stable' };
    composite.inject(ctx, upper, setter);
    expect(upper['baggage']).toBe('gray=stable,tenant=acme');
  });

  it('without a wrapped baggage propagator inject writes nothing', () => {
    expect(inject(setGrayBaggage(base(), 'beta'), gray)).toEqual({});
  });

  it('fields(): the marker header, then the wrapped propagator fields', () => {
    expect(gray.fields()).toEqual(['x-gray-id']);
    expect(new GrayPropagator({ baggage: new W3CBaggagePropagator() }).fields()).toEqual([
      'x-gray-id',
      'baggage',
    ]);
  });

  it('OUT-06 under suppressTracing the wrapped propagator skips, as OTel does', () => {
    expect(inject(suppressTracing(setGrayBaggage(base(), 'beta')))).toEqual({});
  });

  it('OUT-05 an invalid marker forced into the context is withheld too', () => {
    const bag = propagation.createBaggage({
      gray: { value: 'beta\r\nX-Evil: 1' },
      a: { value: '1' },
    });
    expect(inject(propagation.setBaggage(ROOT_CONTEXT, bag))).toEqual({ baggage: 'a=1' });
  });

  it('I1 never throws, even when the setter or the wrapped propagator throws', () => {
    const bad = {
      set: () => {
        throw new Error('boom');
      },
    };
    const broken = new GrayPropagator({
      baggage: {
        inject: () => {
          throw new Error('boom');
        },
        extract: () => {
          throw new Error('boom');
        },
        fields: () => [],
      },
    });
    expect(() => composite.inject(setGrayBaggage(base(), 'beta'), {}, bad)).not.toThrow();
    expect(() => broken.inject(setGrayBaggage(ROOT_CONTEXT, 'beta'), {}, setter)).not.toThrow();
    expect(
      getGrayBaggage(broken.extract(ROOT_CONTEXT, { 'x-gray-id': 'beta' }, getter)),
    ).toBeUndefined();
  });

  it('P2 round trip: every other member survives inject → extract, the marker never does; X-Gray-Id from graylane brings it back', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((k) => k !== 'gray');
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.string({ minLength: 1, maxLength: 40 }), { maxKeys: 50 }),
        fc.constantFrom(...versions),
        (others, v) => {
          const bag = propagation.createBaggage(
            Object.fromEntries(Object.entries(others).map(([k, value]) => [k, { value }])),
          );
          const headers = inject(setGrayBaggage(propagation.setBaggage(ROOT_CONTEXT, bag), v));
          const back = propagation.getBaggage(composite.extract(ROOT_CONTEXT, headers, getter));
          const kept = Object.entries(others).every(
            ([k, value]) => back?.getEntry(k)?.value === value,
          );
          const withHeader = extract({ ...headers, 'x-gray-id': v });
          return kept && back?.getEntry('gray') === undefined && withHeader === v;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('CONF-03 our bounded reader agrees with the pinned W3CBaggagePropagator', () => {
  const otelRead = (b: string | string[]) =>
    propagation
      .getBaggage(new W3CBaggagePropagator().extract(ROOT_CONTEXT, { baggage: b }, getter))
      ?.getEntry('gray')?.value;
  const ours = new GrayPropagator(); // any well-formed label
  const ourRead = (b: string | string[]) =>
    getGrayBaggage(ours.extract(ROOT_CONTEXT, { baggage: b }, getter));
  const fill = (n: number, size = 8) =>
    Array.from({ length: n }, (_, i) => `k${i}=${'v'.repeat(size)}`);
  const pad = (n: number) => `pad=${'p'.repeat(n - 4)}`;

  const cases: Array<[string, string | string[], string | undefined]> = [
    ['gray is member 180', [...fill(179), 'gray=beta'].join(','), 'beta'],
    ['gray is member 181', [...fill(180), 'gray=beta'].join(','), undefined],
    ['a 4096-byte member before gray is counted', [pad(4096), 'gray=beta'].join(','), 'beta'],
    ['a 4097-byte member before gray is skipped', [pad(4097), 'gray=beta'].join(','), 'beta'],
    ['gray ends exactly at 8192 bytes', [pad(4096), pad(4085), 'gray=beta'].join(','), 'beta'],
    ['gray ends at 8193 bytes', [pad(4096), pad(4086), 'gray=beta'].join(','), undefined],
    [
      'limits apply to the combination of headers',
      [fill(100).join(','), fill(80).join(','), 'gray=beta'],
      undefined,
    ],
    [
      'the 8192-byte cutoff stops the scan at member 163, before gray',
      [...fill(163, 45), 'gray=beta'].join(','),
      undefined,
    ],
    [
      '162 members (8151 bytes) leave room for gray',
      [...fill(162, 45), 'gray=beta'].join(','),
      'beta',
    ],
  ];
  it.each(cases)('%s', (_name, header, expected) => {
    expect(otelRead(header)).toBe(expected);
    expect(ourRead(header)).toBe(expected);
  });

  it('agrees on random headers without duplicates', () => {
    const member = fc.oneof(
      fc.constantFrom('gray=beta', 'gray=stable', ' gray = beta ', 'gray=beta;p=1'),
      fc
        .tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 300 }))
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`),
      fc.string({ maxLength: 50 }),
    );
    fc.assert(
      fc.property(fc.array(member, { maxLength: 250 }), (members) => {
        const header = members.join(',');
        const grays = members.filter((m) => /^\s*gray\s*=/.test(m));
        fc.pre(
          new Set(grays.map((m) => m.replace(/[\s;].*|p=1/g, '').replace(/\s/g, ''))).size <= 1,
        );
        return otelRead(header) === ourRead(header);
      }),
      { numRuns: 300 },
    );
  });
});
