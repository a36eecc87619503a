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
const composite = new CompositePropagator({
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

  it('OUT-01 sets X-Gray-Id once and the gray member exactly once, first, other members kept', () => {
    const headers = inject(setGrayBaggage(base(), 'beta'));
    expect(headers['x-gray-id']).toBe('beta');
    expect(headers['baggage']).toBe('gray=beta,tenant=acme');
  });

  it('injects nothing without a marker in the context', () => {
    expect(inject(ROOT_CONTEXT, gray)).toEqual({});
  });

  it('injectBaggage: false leaves the baggage header to the W3C propagator', () => {
    const p = new GrayPropagator({ injectBaggage: false });
    expect(inject(setGrayBaggage(ROOT_CONTEXT, 'beta'), p)).toEqual({ 'x-gray-id': 'beta' });
    expect(p.fields()).toEqual(['x-gray-id']);
    expect(gray.fields()).toEqual(['x-gray-id', 'baggage']);
  });

  it('OUT-06 under suppressTracing the header is sent and baggage is not (same as OTel)', () => {
    const headers = inject(suppressTracing(setGrayBaggage(base(), 'beta')));
    expect(headers['x-gray-id']).toBe('beta');
    expect(headers['baggage']).toBeUndefined();
  });

  it('OUT-08 near the limits the marker still fits, with no partial member', () => {
    const entries: Record<string, { value: string }> = {};
    for (let i = 0; i < 179; i++) entries[`k${i}`] = { value: 'v'.repeat(40) };
    const ctx = setGrayBaggage(
      propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage(entries)),
      'beta',
    );
    const header = inject(ctx, gray)['baggage'] as string;
    expect(header.startsWith('gray=beta,')).toBe(true);
    expect(header.length).toBeLessThanOrEqual(8192);
    expect(header.split(',').length).toBeLessThanOrEqual(180);
    for (const m of header.split(',')) expect(m).toMatch(/^(gray=beta|k\d+=v{40})$/);
  });

  it('OUT-05 an invalid marker forced into the context is not injected', () => {
    const bag = propagation.createBaggage({ gray: { value: 'beta\r\nX-Evil: 1' } });
    expect(inject(propagation.setBaggage(ROOT_CONTEXT, bag), gray)).toEqual({});
  });

  it('I1 never throws, even when the setter throws', () => {
    const bad = {
      set: () => {
        throw new Error('boom');
      },
    };
    expect(() => gray.inject(setGrayBaggage(ROOT_CONTEXT, 'beta'), {}, bad)).not.toThrow();
  });

  it('P2 round trip: inject then extract gives the marker back, within the W3C limits', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((k) => k !== 'gray');
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.string(), { maxKeys: 50 }),
        fc.constantFrom(...versions),
        (others, v) => {
          const bag = propagation.createBaggage(
            Object.fromEntries(Object.entries(others).map(([k, value]) => [k, { value }])),
          );
          const headers = inject(setGrayBaggage(propagation.setBaggage(ROOT_CONTEXT, bag), v));
          return extract(headers) === v && (headers['baggage'] as string).length <= 8192;
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
