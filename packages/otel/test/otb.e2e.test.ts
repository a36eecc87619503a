import { afterAll, beforeAll, expect, it } from 'vitest';
import { e2e, grayMembers } from './chain-helpers.js';
import type { Seen } from './chain-helpers.js';
import { getJson, startService } from './spawn-service.js';
import type { Service } from './spawn-service.js';

/*
 * OTB-01 / OTB-04 (RELIABILITY §10): OpenTelemetry's propagators have no target, so with the
 * marker in the request's OTel baggage every instrumented client would send it everywhere.
 * Service A (graylane + sdk-node 2.x with the http and undici instrumentations, its own process)
 * calls an allowlisted service (127.0.0.1) and two third parties — another name (`localhost`)
 * and another IP (`[::1]`) — with every client, while its OTel baggage also holds `tenant=acme`.
 * The third parties must get neither X-Gray-Id nor a gray member (tenant and traceparent still
 * arrive); the allowlisted service gets exactly one of each. Four setups: the documented one and
 * the ones users already run.
 */

interface Both {
  version: string;
  internal: Seen;
  thirds: Seen[];
}

const CLIENTS = [
  'plain',
  'fetch',
  'undici',
  'axios',
  'axiosfetch',
  'graylane',
  'interceptor',
  'attach',
];
const GRAYLANE_WRAPPERS = new Set(['graylane', 'interceptor', 'attach']);

interface Setup {
  readonly name: string;
  readonly service: Record<string, unknown>;
  /** Which clients deliver the marker to the allowlisted host in this setup. */
  readonly delivers: (via: string) => boolean;
}

const SETUPS: Setup[] = [
  {
    name: 'documented: GrayPropagator wrapping W3C baggage + installGlobal',
    service: { otel: { propagator: 'documented' }, global: true },
    delivers: () => true,
  },
  {
    name: 'sdk-node default propagators + installGlobal',
    service: { otel: { propagator: 'w3c' }, global: true },
    delivers: () => true,
  },
  {
    name: 'first-wave composite (W3C baggage, then GrayPropagator) + installGlobal',
    service: { otel: { propagator: 'legacy' }, global: true },
    delivers: () => true,
  },
  {
    name: 'GrayPropagator wrapping W3C baggage, no installGlobal',
    service: { otel: { propagator: 'documented' }, global: false },
    delivers: (via) => GRAYLANE_WRAPPERS.has(via),
  },
];

/** 12 requests, half beta, half stable (50/50 split on x-user, plus explicit markers). */
function requests(): Record<string, string>[] {
  return Array.from({ length: 12 }, (_, i) => ({
    'x-user': `otb-${i}`,
    ...(i % 4 === 0 ? { 'x-gray-id': 'beta' } : {}),
  }));
}

e2e('OTB-01 OTB-04 OpenTelemetry as a carrier: third parties never get the marker', () => {
  const shared: Service[] = [];
  const internal = { url: '' };
  const thirds: string[] = [];
  beforeAll(async () => {
    const inside = await startService('graylane-service.cjs', {
      SERVICE: JSON.stringify({ name: 'internal' }),
    });
    const byName = await startService('graylane-service.cjs', {
      SERVICE: JSON.stringify({ name: 'third' }),
    });
    const byIp = await startService('graylane-service.cjs', {
      SERVICE: JSON.stringify({ name: 'third6' }),
      HOST: '::1',
    });
    shared.push(inside, byName, byIp);
    internal.url = `${inside.url}/`;
    thirds.push(`http://localhost:${new URL(byName.url).port}/`, `${byIp.url}/`);
  }, 60_000);
  afterAll(() => Promise.all(shared.map((s) => s.stop())));

  for (const setup of SETUPS) {
    const a: Service[] = [];
    beforeAll(async () => {
      a.push(
        await startService('graylane-service.cjs', {
          SERVICE: JSON.stringify({ name: 'a', ...setup.service, internal: internal.url, thirds }),
        }),
      );
    }, 60_000);
    afterAll(() => Promise.all(a.map((s) => s.stop())));

    it.each(CLIENTS)(
      `OTB-01 OTB-04 ${setup.name}, via %s: nothing to a third party, one marker to the allowlisted host`,
      async (via) => {
        const results = await Promise.all(
          requests().map((h) => getJson<Both>(`${a[0]!.url}/otb?via=${via}`, h)),
        );
        expect(new Set(results.map((r) => r.version))).toEqual(new Set(['stable', 'beta']));
        for (const r of results) {
          expect(r.thirds).toHaveLength(2);
          for (const third of r.thirds) {
            expect(third['x-gray-id'], 'third party X-Gray-Id').toBeUndefined();
            expect(grayMembers(third.baggage), 'third party gray member').toEqual([]);
            expect(third.baggage ?? '', 'other OTel baggage still flows').toContain('tenant=acme');
            expect(third.traceparent, 'trace context still flows').toBeDefined();
          }
          expect(r.internal.baggage ?? '').toContain('tenant=acme');
          if (setup.delivers(via)) {
            expect(r.internal['x-gray-id'], 'allowlisted: exactly one value').toBe(r.version);
            expect(grayMembers(r.internal.baggage)).toEqual([`gray=${r.version}`]);
          } else {
            expect(r.internal['x-gray-id']).toBeUndefined();
            expect(grayMembers(r.internal.baggage)).toEqual([]);
          }
        }
      },
    );
  }
});
