import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import type { Context, TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { OTTracePropagator } from '@opentelemetry/propagator-ot-trace';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { readBaggageMember } from '@graylane/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrayPropagator, getGrayBaggage } from '../src/index.js';
import { getter, setter, useAlsContextManager } from './setup-context.js';
import type { Headers } from './setup-context.js';

/*
 * GrayPropagator with every OpenTelemetry propagator that carries baggage: W3C `baggage`,
 * Jaeger `uberctx-<key>`, OT `ot-baggage-<key>` (B3 carries none).
 * - BG-02/BG-06/BG-07: the extracted context's `gray` member is graylane's reading of the
 *   carrier. graylane's bounded scan counts every entry toward its caps (junk too, AMP-01),
 *   OpenTelemetry counts only the members it accepts: past graylane's caps OTel still read
 *   `gray=beta` (or `stable` from `gray=beta,gray=stable`, undoing the ambiguity rule), and
 *   GrayPropagator left that reading in the context.
 * - OTB-01/OTB-02: a wrapped Jaeger or OT propagator reads `uberctx-gray` / `ot-baggage-gray`
 *   into the context, which graylane does not read as a marker: it stays out of the context;
 *   on inject every wrapped propagator gets the context without the member (a list of them is
 *   accepted as well as a composite).
 */

const teardown = useAlsContextManager();
afterAll(teardown);

const versions = ['stable', 'beta'];
const w3c = (): TextMapPropagator => new W3CBaggagePropagator();
const jaeger = (): TextMapPropagator => new JaegerPropagator();
const ot = (): TextMapPropagator => new OTTracePropagator();
const composite = (...propagators: TextMapPropagator[]): TextMapPropagator =>
  new CompositePropagator({ propagators });

/** What graylane's own read of the header says the context must carry. */
function graylaneReads(header: string | string[]): string | undefined {
  const read = readBaggageMember(header, 'gray');
  return read.kind === 'value' && versions.includes(read.value.trim())
    ? read.value.trim()
    : undefined;
}

const extracted = (p: TextMapPropagator, headers: Headers, ctx: Context = ROOT_CONTEXT) =>
  getGrayBaggage(p.extract(ctx, headers, getter), { versions });

const junk = (n: number, make: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => make(i)).join(',');
const big = 'x'.repeat(3000);

describe('BG-02 BG-06 BG-07 extract: the context carries graylane’s reading, never OpenTelemetry’s', () => {
  const HEADERS: [string, string | string[]][] = [
    ['180 entries without "=", then gray=beta', `${junk(180, (i) => `j${i}`)},gray=beta`],
    ['180 entries "=x", then gray=beta', `${junk(180, () => '=x')},gray=beta`],
    ['180 entries "k=", then gray=beta', `${junk(180, (i) => `k${i}=`)},gray=beta`],
    ['180 entries "%ZZ=1", then gray=beta', `${junk(180, () => '%ZZ=1')},gray=beta`],
    ['180 empty entries, then gray=beta', `${','.repeat(180)}gray=beta`],
    ['200 junk entries, then gray=beta', `${junk(200, (i) => `j${i}`)},gray=beta`],
    [
      '180 junk entries, then gray=beta,gray=stable',
      `${junk(180, (i) => `j${i}`)},gray=beta,gray=stable`,
    ],
    [
      '180 junk entries, then gray=stable,gray=beta',
      `${junk(180, (i) => `j${i}`)},gray=stable,gray=beta`,
    ],
    ['3 junk entries of 3000 bytes, then gray=beta', `${big},${big},${big},gray=beta`],
    [
      '3 junk entries of 3000 bytes, then gray=beta,gray=stable',
      `${big},${big},${big},gray=beta,gray=stable`,
    ],
    ['3 junk entries of 3000 bytes, then %67ray=beta', `${big},${big},${big},%67ray=beta`],
    [
      'two headers: 100 junk, then 80 junk and gray=beta',
      [junk(100, (i) => `j${i}`), `${junk(80, (i) => `h${i}`)},gray=beta`],
    ],
    [
      'two headers: 2 x 3000 junk, then 3000 junk and gray=beta',
      [`${big},${big}`, `${big},gray=beta`],
    ],
  ];

  it.each(HEADERS)('BG-06 %s: not in the context (OpenTelemetry alone reads it)', (_n, header) => {
    // The premise: OpenTelemetry's own propagator reads the member, graylane's scan does not.
    expect(extracted(w3c(), { baggage: header })).toBeDefined();
    expect(graylaneReads(header)).toBeUndefined();
    for (const p of [
      new GrayPropagator({ versions, baggage: w3c() }),
      new GrayPropagator({ versions, baggage: [w3c(), jaeger()] }),
      composite(new W3CTraceContextPropagator(), new GrayPropagator({ versions, baggage: w3c() })),
    ])
      expect(extracted(p, { baggage: header })).toBeUndefined();
  });

  it.each(HEADERS)('BG-06 %s: a member the context already had stays as it was', (_n, header) => {
    const before = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ gray: { value: 'stable' }, t: { value: '1' } }),
    );
    // OpenTelemetry's W3C propagator replaces the whole baggage with its reading; graylane
    // puts the member back as it was.
    const p = new GrayPropagator({ versions, baggage: w3c() });
    expect(extracted(p, { baggage: header }, before)).toBe('stable');
  });

  const WITHIN: [string, string, string | undefined][] = [
    ['179 junk entries, then gray=beta', `${junk(179, (i) => `j${i}`)},gray=beta`, 'beta'],
    [
      'a 5000-byte entry (skipped by both), then gray=beta',
      `a=${'y'.repeat(5000)},gray=beta`,
      'beta',
    ],
    ['2 junk entries of 3000 bytes, then gray=beta', `${big},${big},gray=beta`, 'beta'],
    ['gray=beta,gray=stable', 'gray=beta,gray=stable', undefined],
    ['gray=beta,%67ray=stable', 'gray=beta,%67ray=stable', undefined],
  ];
  it.each(WITHIN)('BG-02 BG-07 within the caps, graylane’s reading: %s', (_n, header, want) => {
    expect(graylaneReads(header)).toBe(want);
    expect(extracted(new GrayPropagator({ versions, baggage: w3c() }), { baggage: header })).toBe(
      want,
    );
  });

  it('BG-02 BG-06 property: for any header, the context carries exactly what graylane reads', () => {
    const entry = fc.oneof(
      fc.constantFrom('gray=beta', 'gray=stable', '%67ray=beta', 'gr%61y=stable', ' gray = beta '),
      fc.constantFrom('j', '=x', 'k=', '%ZZ=1', '', ' ', 'a=1', 'gray', 'gray=', 'gray=gamma'),
      fc.constantFrom(big, `b=${'z'.repeat(4100)}`),
      fc.nat(9999).map((n) => `m${n}=v`),
    );
    const header = fc.oneof(
      fc.array(entry, { maxLength: 260 }).map((e) => e.join(',')),
      fc
        .tuple(fc.array(entry, { maxLength: 150 }), fc.array(entry, { maxLength: 150 }))
        .map(([x, y]) => [x.join(','), y.join(',')]),
    );
    const p = new GrayPropagator({ versions, baggage: [w3c(), jaeger()] });
    fc.assert(
      fc.property(header, (h) => extracted(p, { baggage: h }) === graylaneReads(h)),
      { numRuns: 400 },
    );
  });
});

describe('OTB-02 extract: a member only Jaeger or OT carried stays out of the context', () => {
  const OT_IDS = {
    'ot-tracer-traceid': '0000000000000001',
    'ot-tracer-spanid': '0000000000000002',
    'ot-tracer-sampled': 'true',
  };
  const WRAPS: [string, () => TextMapPropagator][] = [
    [
      'a list [W3C, Jaeger, OT]',
      () => new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot()] }),
    ],
    [
      'a composite of W3C, Jaeger, OT',
      () => new GrayPropagator({ versions, baggage: composite(w3c(), jaeger(), ot()) }),
    ],
  ];
  const CASES: [string, Headers, string | undefined][] = [
    ['uberctx-gray: beta', { 'uberctx-gray': 'beta' }, undefined],
    ['uberctx-gray: be%74a', { 'uberctx-gray': 'be%74a' }, undefined],
    ['ot-baggage-gray: beta', { ...OT_IDS, 'ot-baggage-gray': 'beta' }, undefined],
    [
      'uberctx-gray: beta, ot-baggage-gray: beta',
      { ...OT_IDS, 'uberctx-gray': 'beta', 'ot-baggage-gray': 'beta' },
      undefined,
    ],
    ['uberctx-gray: beta, baggage a=1', { 'uberctx-gray': 'beta', baggage: 'a=1' }, undefined],
    [
      'uberctx-gray: beta, x-gray-id: stable',
      { 'uberctx-gray': 'beta', 'x-gray-id': 'stable' },
      'stable',
    ],
    [
      'uberctx-gray: beta, baggage gray=stable',
      { 'uberctx-gray': 'beta', baggage: 'gray=stable' },
      'stable',
    ],
    [
      'uberctx-gray: beta, baggage gray=beta,gray=stable (ambiguous)',
      { 'uberctx-gray': 'beta', baggage: 'gray=beta,gray=stable' },
      undefined,
    ],
  ];
  it.each(
    WRAPS.flatMap(([w, make]) =>
      CASES.map(([c, h, want]) => [`${w}, ${c}`, make, h, want] as const),
    ),
  )('OTB-02 %s', (_n, make, headers, want) => {
    const ctx = make().extract(ROOT_CONTEXT, headers, getter);
    expect(getGrayBaggage(ctx, { versions })).toBe(want);
  });

  it('OTB-02 the rest of what Jaeger and OT carried stays in the context', () => {
    const p = new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot()] });
    const ctx = p.extract(
      ROOT_CONTEXT,
      { ...OT_IDS, 'uberctx-gray': 'beta', 'uberctx-tenant': 'acme', 'ot-baggage-team': 'red' },
      getter,
    );
    const bag = propagation.getBaggage(ctx);
    expect(bag?.getEntry('tenant')?.value).toBe('acme');
    expect(bag?.getEntry('team')?.value).toBe('red');
    expect(bag?.getEntry('gray')).toBeUndefined();
    expect(trace.getSpanContext(ctx)?.spanId).toBe('0000000000000002');
  });
});

describe('OTB-01 inject: no wrapped propagator writes the member, in any format', () => {
  const span = trace.wrapSpanContext({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
  });
  const ctx = propagation.setBaggage(
    trace.setSpan(ROOT_CONTEXT, span),
    propagation.createBaggage({ gray: { value: 'beta' }, tenant: { value: 'acme' } }),
  );
  const WRAPS: [string, () => TextMapPropagator][] = [
    ['a list', () => new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot()] })],
    [
      'a composite',
      () => new GrayPropagator({ versions, baggage: composite(w3c(), jaeger(), ot()) }),
    ],
    [
      'a list inside the documented composite',
      () =>
        composite(
          new W3CTraceContextPropagator(),
          new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot()] }),
        ),
    ],
  ];
  it.each(WRAPS)('OTB-01 %s of W3C, Jaeger and OT', (_n, make) => {
    const carrier: Headers = {};
    make().inject(ctx, carrier, setter);
    expect(carrier['baggage']).toBe('tenant=acme');
    expect(carrier['uberctx-tenant']).toBe('acme');
    expect(carrier['ot-baggage-tenant']).toBe('acme');
    expect(carrier['uber-trace-id']).toMatch(/^0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:/);
    expect(carrier['ot-tracer-spanid']).toBe('b7ad6b7169203331');
    for (const name of ['uberctx-gray', 'ot-baggage-gray', 'x-gray-id'])
      expect(carrier[name], name).toBeUndefined();
  });

  it('fields: the marker header, then every wrapped propagator’s, once each', () => {
    const p = new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot(), w3c()] });
    expect(p.fields()).toEqual([
      'x-gray-id',
      'baggage',
      'uber-trace-id',
      'ot-tracer-traceid',
      'ot-tracer-spanid',
      'ot-tracer-sampled',
    ]);
  });
});

/*
 * OTB-01 with OpenTelemetry's real http and undici instrumentations and no graylane outbound
 * code at all: GrayPropagator wrapping every baggage propagator keeps `gray` out of each format
 * on every client (the other members and the trace headers go out).
 */
describe('OTB-01 instrumented clients with GrayPropagator wrapping W3C, Jaeger and OT', () => {
  const seen = new Map<string, string[]>();
  let server: http.Server;
  let origin = '';
  const instrumentations: { disable(): void }[] = [];
  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    propagation.setGlobalPropagator(
      composite(
        new W3CTraceContextPropagator(),
        new GrayPropagator({ versions, baggage: [w3c(), jaeger(), ot()] }),
      ),
    );
    instrumentations.push(new HttpInstrumentation(), new UndiciInstrumentation());
    createRequire(import.meta.url)('node:http');
    server = http.createServer((req, res) => {
      seen.set(req.url ?? '', req.rawHeaders);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const i of instrumentations) i.disable();
    trace.disable();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  const CLIENTS: [string, (url: string) => Promise<void>][] = [
    [
      'http.get',
      (url) =>
        new Promise((resolve, reject) => {
          http
            .get(url, (res) => {
              res.resume();
              res.on('end', resolve);
            })
            .on('error', reject);
        }),
    ],
    ['fetch', async (url) => void (await (await fetch(url)).text())],
  ];

  it.each(CLIENTS)(
    'OTB-01 %s: no gray member in baggage, uberctx-* or ot-baggage-*',
    async (name, call) => {
      const path = `/${name}`;
      const bag = propagation.createBaggage({ gray: { value: 'beta' }, tenant: { value: 'acme' } });
      await context.with(propagation.setBaggage(context.active(), bag), () =>
        trace.getTracer('t').startActiveSpan('job', async (span) => {
          await call(`${origin}${path}`);
          span.end();
        }),
      );
      const raw = seen.get(path) ?? [];
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < raw.length; i += 2) headers[raw[i]!.toLowerCase()] = raw[i + 1]!;
      expect(headers['baggage']).toBe('tenant=acme');
      expect(headers['uberctx-tenant']).toBe('acme');
      expect(headers['ot-baggage-tenant']).toBe('acme');
      expect(headers['traceparent']).toBeDefined();
      for (const n of ['uberctx-gray', 'ot-baggage-gray', 'x-gray-id'])
        expect(headers[n], n).toBeUndefined();
    },
  );
});
