/**
 * Lane fallback, focused: `inventory` has only a stable instance. A beta request is served by
 * its stable code, and the beta marker still reaches `pricing`, which has a beta instance.
 * Real servers on 127.0.0.1 (ephemeral ports), started in-process.
 */
import { createConfigStore } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HopRecord } from '../src/hop.js';
import { createLaneTable, addLane, resolveLane, type LaneTable } from '../src/lanes.js';
import { startServices, type Services } from '../src/stack.js';
import { VISIT_MS } from '../src/timeouts.js';

const config = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });

async function getHops(url: string, marker?: string): Promise<HopRecord[]> {
  const res = await fetch(url, {
    headers: marker === undefined ? {} : { 'x-gray-id': marker },
    // A hang guard, not a speed target: the demo's own bound for a visit through every hop.
    signal: AbortSignal.timeout(VISIT_MS),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { hops: HopRecord[] };
  return body.hops;
}

function url(
  lanes: LaneTable,
  service: 'orders' | 'inventory' | 'pricing',
  lane: string,
  path: string,
): string {
  const base = lanes.get(service)?.get(lane)?.url;
  if (base === undefined) throw new Error(`no ${service}-${lane}`);
  return `${base}${path}`;
}

describe('resolveLane', () => {
  const table = createLaneTable();
  addLane(table, 'inventory', 'stable', 'http://127.0.0.1:1');
  addLane(table, 'pricing', 'stable', 'http://127.0.0.1:2');
  addLane(table, 'pricing', 'beta', 'http://127.0.0.1:3');

  it('picks the exact lane when it exists', () => {
    expect(resolveLane(table, 'pricing', 'beta', 'stable')).toMatchObject({
      instance: 'pricing-beta',
      fellBack: false,
    });
  });

  it('falls back to the default lane when the version has no instance', () => {
    expect(resolveLane(table, 'inventory', 'beta', 'stable')).toMatchObject({
      instance: 'inventory-stable',
      lane: 'stable',
      fellBack: true,
    });
  });

  it('falls back without a version, and for prototype-named versions (Map lookups, I2)', () => {
    expect(resolveLane(table, 'pricing', undefined, 'stable').instance).toBe('pricing-stable');
    expect(resolveLane(table, 'pricing', '__proto__', 'stable').instance).toBe('pricing-stable');
    expect(resolveLane(table, 'pricing', 'constructor', 'stable').instance).toBe('pricing-stable');
  });

  it('throws (a setup mistake) when even the default lane is missing', () => {
    expect(() => resolveLane(table, 'orders', 'beta', 'stable')).toThrow(
      /no stable instance of orders/,
    );
  });
});

describe('lane fallback across real services', () => {
  let services: Services;

  beforeAll(async () => {
    services = await startServices({}, config);
  });

  afterAll(async () => {
    await services?.close();
  });

  it('inventory (stable only) serves beta with stable code; pricing still gets beta', async () => {
    const hops = await getHops(
      url(services.lanes, 'inventory', 'stable', '/inventory/sku-1'),
      'beta',
    );
    expect(hops).toEqual([
      {
        hop: 'inventory',
        instance: 'inventory-stable',
        saw: 'beta',
        reason: 'header',
        served: 'stable',
      },
      { hop: 'pricing', instance: 'pricing-beta', saw: 'beta', reason: 'header', served: 'beta' },
    ]);
  });

  it('a stable request stays on stable everywhere (no fallback)', async () => {
    const hops = await getHops(url(services.lanes, 'orders', 'stable', '/orders/1'), 'stable');
    expect(hops.map((h) => `${h.saw}@${h.instance}:${h.served}`)).toEqual([
      'stable@orders-stable:stable',
      'stable@inventory-stable:stable',
      'stable@pricing-stable:stable',
    ]);
  });

  it('the full chain from orders-beta: the marker crosses the fallback hop unchanged', async () => {
    const hops = await getHops(url(services.lanes, 'orders', 'beta', '/orders/1'), 'beta');
    expect(hops.map((h) => `${h.saw}@${h.instance}:${h.served}`)).toEqual([
      'beta@orders-beta:beta',
      'beta@inventory-stable:stable',
      'beta@pricing-beta:beta',
    ]);
  });

  it('an unknown marker is ignored (I3): the default lane, no error', async () => {
    const hops = await getHops(
      url(services.lanes, 'inventory', 'stable', '/inventory/sku-1'),
      'gamma',
    );
    expect(hops.map((h) => `${h.saw}@${h.instance}`)).toEqual([
      'stable@inventory-stable',
      'stable@pricing-stable',
    ]);
  });

  // 200 requests, 50 in flight at any moment (a rolling window, so they keep overlapping). All
  // 200 at once would only queue: on 2 busy cores the last ones then outlive inventory's own
  // bound for its pricing call and come back 502 — a slow machine, not bleed.
  it(
    'I7: 200 requests with alternating markers, 50 concurrent, each keep their own marker through the fallback hop',
    async () => {
      const markers = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 'beta' : 'stable'));
      const results: HopRecord[][] = [];
      let next = 0;
      const lane = async (): Promise<void> => {
        for (let i = next++; i < markers.length; i = next++) {
          results[i] = await getHops(
            url(services.lanes, 'inventory', 'stable', '/inventory/sku-1'),
            markers[i],
          );
        }
      };
      await Promise.all(Array.from({ length: 50 }, lane));
      expect(results.filter(Boolean)).toHaveLength(200);
      results.forEach((hops, i) => {
        const m = markers[i];
        expect(hops.map((h) => h.saw)).toEqual([m, m]);
        expect(hops[1]?.instance).toBe(`pricing-${m}`);
      });
    },
    VISIT_MS + 30_000,
  );
});
