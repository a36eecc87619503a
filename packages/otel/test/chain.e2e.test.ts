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
 * A runs the documented setup (docs/opentelemetry.md): GrayPropagator wrapping the W3C baggage
 * propagator, so OpenTelemetry never sends the marker itself, and installGlobal(), which adds
 * X-Gray-Id and the gray member to allowlisted hosts (127.0.0.1) from every client.
 */

e2e('A (graylane + sdk-node, documented setup) → B (sdk-node only) → C (graylane)', () => {
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
      // B forwards OTel baggage only; C reads the member B received from A.
      expect(r.atC.reason, r.id).toBe('baggage');
      expect(r.atB?.seen['x-gray-id'], r.id).toBe(r.decided);
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

  it.each(['graylane', 'interceptor', 'attach', 'undici', 'axios', 'axiosfetch'])(
    'OUT-04 OTB-04 via %s under the OTel instrumentations: one X-Gray-Id, gray once',
    async (via) => {
      const results = await drive(chain[0]!, `?via=${via}`, 20);
      expectMixed(results);
      for (const r of results) {
        expect(r.atB?.seen['x-gray-id'], r.id).toBe(r.decided);
        expect(grayMembers(r.atB?.seen.baggage), r.id).toEqual([`gray=${r.decided}`]);
        expect(r.atC.version, r.id).toBe(r.decided);
      }
    },
  );

  it('spans exported to the in-memory exporter carry graylane.version and graylane.reason', async () => {
    const results = await drive(chain[0]!, '?via=plain', 20);
    await expectSpansMatch(chain[0]!, results);
  });

  it('OUT-06 under suppressTracing OTel sends nothing (no traceparent); graylane still carries the marker', async () => {
    for (const via of ['plain', 'graylane']) {
      const results = await drive(chain[0]!, `?via=${via}&suppress=1`, 20);
      expectMixed(results);
      for (const r of results) {
        expect(r.atB?.seen.traceparent, r.id).toBeUndefined();
        expect(r.atB?.seen['x-gray-id'], r.id).toBe(r.decided);
        expect(r.atB?.seen.baggage, r.id).toBe(`gray=${r.decided}`);
        expect(r.atC.version, r.id).toBe(r.decided);
      }
    }
  });
});

e2e('A with the sdk-node default propagators and no graylane outbound hooks (OTel alone)', () => {
  let chain: Service[] = [];
  let c: Service | undefined;
  beforeAll(async () => {
    c = await startService('graylane-service.cjs', { SERVICE: JSON.stringify({ name: 'c' }) });
    const a = await startService('graylane-service.cjs', {
      SERVICE: JSON.stringify({
        name: 'a',
        otel: { propagator: 'w3c' },
        global: false,
        next: c.url,
      }),
    });
    chain = [a];
  }, 60_000);
  afterAll(() => Promise.all([...chain, c].map((s) => s?.stop())));

  it('OUT-06 OTel carries the member (no X-Gray-Id) and skips it under suppressTracing', async () => {
    const normal = await drive(chain[0]!, '?via=plain', 20);
    for (const r of normal) {
      expect(r.atC.seen['x-gray-id']).toBeUndefined();
      expect(r.atC.seen.baggage).toBe(`gray=${r.decided}`);
      expect(r.atC.version).toBe(r.decided);
    }
    const suppressed = await drive(chain[0]!, '?via=plain&suppress=1', 20);
    for (const r of suppressed) {
      expect(r.atC.seen.baggage).toBeUndefined();
      expect(r.atC.version).toBe('stable'); // nothing reached C: the documented OTel behaviour
    }
  });
});
