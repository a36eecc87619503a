import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  drive,
  e2e,
  expectMixed,
  expectSpansMatch,
  grayMembers,
  useChain,
} from './chain-helpers.js';
import { startService } from './spawn-service.js';
import type { Service } from './spawn-service.js';

/*
 * End-to-end: A → B → C on 127.0.0.1, each service its own `node` process.
 * A and C run graylane; B is an OpenTelemetry-only hop (sdk-node, no graylane code).
 */

e2e('A (graylane + sdk-node) → B (sdk-node only) → C (graylane)', () => {
  const chain: Service[] = [];
  useChain(chain, [
    { script: 'graylane-service.cjs', service: { name: 'a', otel: {} } },
    { script: 'otel-only-hop.cjs' },
    { script: 'graylane-service.cjs', service: { name: 'c' } },
  ]);

  it('I7 every C observation equals the version A decided, under concurrency', async () => {
    const results = await drive(chain[0]!, '?via=plain');
    expectMixed(results);
    for (const r of results) {
      expect(r.atC.version, r.id).toBe(r.decided);
      expect(r.atC.reason, r.id).toBe('baggage');
      // B received the marker only as OTel baggage (A sent no graylane header on this path).
      expect(r.atB?.seen['x-gray-id'], r.id).toBeUndefined();
      expect(r.atB?.seen.baggage, r.id).toBe(`gray=${r.decided}`);
    }
  });

  it('I7 with fetch on both hops (OTel undici instrumentation) every C observation equals A', async () => {
    const results = await drive(chain[0]!, '?via=fetch&hop=fetch');
    expectMixed(results);
    for (const r of results) {
      expect(r.atB?.seen.baggage, r.id).toBe(`gray=${r.decided}`);
      expect(r.atC.version, r.id).toBe(r.decided);
    }
  });

  it('OUT-04 graylane withGray(fetch) plus OTel undici instrumentation: one X-Gray-Id, consistent baggage', async () => {
    const results = await drive(chain[0]!, '?via=graylane', 20);
    expectMixed(results);
    for (const r of results) {
      expect(r.atB?.seen['x-gray-id'], r.id).toBe(r.decided);
      const grays = grayMembers(r.atB?.seen.baggage);
      expect(grays.length, r.id).toBeGreaterThan(0);
      expect(new Set(grays), r.id).toEqual(new Set([`gray=${r.decided}`]));
      expect(r.atC.version, r.id).toBe(r.decided);
    }
  });

  // withGray(fetch) writes `baggage` into the request and OTel's undici instrumentation appends
  // its own `baggage` header; graylane's dedupe listener (subscribed after the SDK's) merges them.
  it('OUT-01 the gray member arrives exactly once with withGray(fetch) under undici instrumentation', async () => {
    const results = await drive(chain[0]!, '?via=graylane', 10);
    for (const r of results) expect(grayMembers(r.atB?.seen.baggage), r.id).toHaveLength(1);
  });

  it('spans exported to the in-memory exporter carry graylane.version and graylane.reason', async () => {
    const results = await drive(chain[0]!, '?via=plain', 20);
    await expectSpansMatch(chain[0]!, results);
  });

  it('OUT-06 under suppressTracing OTel sends no baggage (documented), graylane outbound still carries the marker', async () => {
    const suppressedOtel = await drive(chain[0]!, '?via=plain&suppress=1', 20);
    for (const r of suppressedOtel) {
      expect(r.atB?.seen.baggage).toBeUndefined();
      expect(r.atB?.seen.traceparent).toBeUndefined();
      expect(r.atC.version).toBe('stable'); // nothing reached C: the documented OTel behaviour
    }
    const suppressedGray = await drive(chain[0]!, '?via=graylane&suppress=1', 20);
    expectMixed(suppressedGray);
    for (const r of suppressedGray) {
      expect(r.atB?.seen['x-gray-id']).toBe(r.decided);
      expect(r.atC.version).toBe(r.decided);
    }
  });
});

e2e('OUT-06 GrayPropagator in A: X-Gray-Id is still sent under suppressTracing', () => {
  let chain: Service[] = [];
  let c: Service | undefined;
  beforeAll(async () => {
    c = await startService('graylane-service.cjs', { SERVICE: JSON.stringify({ name: 'c' }) });
    const b = await startService('otel-only-hop.cjs', { NEXT: c.url });
    const a = await startService('graylane-service.cjs', {
      SERVICE: JSON.stringify({
        name: 'a',
        otel: { propagator: 'gray' },
        next: b.url,
        direct: c.url,
      }),
    });
    chain = [a, b];
  }, 60_000);
  afterAll(() => Promise.all([...chain, c].map((s) => s?.stop())));

  it('OTel outbound with GrayPropagator: header and baggage normally, header only when suppressed', async () => {
    const normal = await drive(chain[0]!, '?via=plain&to=direct', 20);
    for (const r of normal) {
      expect(r.atC.seen['x-gray-id']).toBe(r.decided);
      expect(r.atC.seen.baggage).toBe(`gray=${r.decided}`);
    }
    const direct = await drive(chain[0]!, '?via=plain&to=direct&suppress=1', 20);
    expectMixed(direct);
    for (const r of direct) {
      expect(r.atC.seen['x-gray-id']).toBe(r.decided);
      expect(r.atC.seen.baggage).toBeUndefined();
      expect(r.atC.version).toBe(r.decided);
      expect(r.atC.reason).toBe('header');
    }
  });
});
