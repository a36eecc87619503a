import { expect, it } from 'vitest';
import { drive, e2e, expectMixed, expectSpansMatch, useChain } from './chain-helpers.js';
import { getJson } from './spawn-service.js';
import type { Service } from './spawn-service.js';

/*
 * The same A → B → C chain in the other setups RELIABILITY OUT-07 / CTX-10 name. Where a test is
 * about what OpenTelemetry carries by itself (the bridge writing OTel baggage), A runs the
 * sdk-node default propagators and no graylane outbound hooks, so OTel alone carries the marker.
 */
/** Plain clients in A: B received the member from OTel alone, C decided the same, spans agree. */
async function expectOtelCarries(a: Service): Promise<void> {
  const results = await drive(a, '?via=plain');
  expectMixed(results);
  for (const r of results) {
    expect(r.atB?.seen.baggage, r.id).toBe(`gray=${r.decided}`);
    expect(r.atC.version, r.id).toBe(r.decided);
  }
  await expectSpansMatch(a, results);
}

function otelAloneChain(otel: Record<string, string>) {
  return [
    {
      script: 'graylane-service.cjs',
      service: { name: 'a', otel: { propagator: 'w3c', ...otel }, global: false },
    },
    { script: 'otel-only-hop.cjs' },
    { script: 'graylane-service.cjs', service: { name: 'c' } },
  ];
}

e2e('CTX-10 no OpenTelemetry SDK anywhere: graylane-only propagation', () => {
  const chain: Service[] = [];
  useChain(chain, [
    { script: 'graylane-service.cjs', service: { name: 'a' } },
    { script: 'graylane-service.cjs', service: { name: 'b' } },
    { script: 'graylane-service.cjs', service: { name: 'c' } },
  ]);

  it('OUT-07 every hop sees the version A decided, carried by X-Gray-Id', async () => {
    const results = await drive(chain[0]!, '?via=graylane');
    expectMixed(results);
    for (const r of results) {
      expect(r.atB?.version, r.id).toBe(r.decided);
      expect(r.atC.version, r.id).toBe(r.decided);
      expect(r.atC.reason, r.id).toBe('header');
      expect(r.atC.seen.traceparent).toBeUndefined(); // no OTel in this chain
    }
  });
});

e2e('CTX-10 A registers OTel through a duplicate copy of @opentelemetry/api (npm alias)', () => {
  const chain: Service[] = [];
  useChain(chain, otelAloneChain({ apiCopy: 'dup' }));

  it('OUT-07 the bridge (first copy) sees the context manager registered through the second copy', async () => {
    await expectOtelCarries(chain[0]!);
  });
});

e2e('OUT-07 A registers its context manager after graylane started serving', () => {
  const chain: Service[] = [];
  useChain(chain, otelAloneChain({ contextManager: 'late' }));

  it('before registration: graylane outbound carries the marker; OTel alone cannot (Noop manager)', async () => {
    const viaGraylane = await drive(chain[0]!, '?via=graylane', 20);
    expectMixed(viaGraylane);
    for (const r of viaGraylane) expect(r.atC.version, r.id).toBe(r.decided);
    const viaOtel = await drive(chain[0]!, '?via=plain', 20);
    for (const r of viaOtel) {
      expect(r.decided).toMatch(/^(stable|beta)$/); // A itself still decides and serves (graylane's own ALS)
      expect(r.atB?.seen.baggage, r.id).toBeUndefined();
    }
  });

  it('after registration: the same graylane instance writes OTel baggage, and B carries it to C', async () => {
    expect(await getJson<{ registered: unknown }>(`${chain[0]!.url}/__register-cm`)).toMatchObject({
      registered: true,
    });
    await expectOtelCarries(chain[0]!);
  });
});
