/**
 * The broken link, caught (issue 19, docs/find-where-the-lane-breaks.md): `orders` has one route,
 * `/broken-link`, that calls `pricing` with the plain global fetch. On the beta lane the marker
 * does not reach `pricing` (it serves stable: the symptom), and propagation coverage counts the
 * call as `missing` with the line in src/services/orders.ts that made it (the cause). The wrapped
 * calls of the normal route are `carried`. Real servers on 127.0.0.1, started in-process.
 */
import { createConfigStore } from '@graylane/core';
import { coverageStats, installCoverage } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HopRecord } from '../src/hop.js';
import { startServices, type Services } from '../src/stack.js';
import { VISIT_MS } from '../src/timeouts.js';

const config = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
let services: Services;
let uninstall: () => void;
const warnings: string[] = [];

beforeAll(async () => {
  uninstall = installCoverage({
    logger: { warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) },
  });
  services = await startServices({}, config);
});
afterAll(async () => {
  uninstall();
  await services.close();
});

const base = (service: 'orders' | 'pricing', lane: string) => {
  const url = services.lanes.get(service)?.get(lane)?.url;
  if (url === undefined) throw new Error(`no ${service}-${lane}`);
  return url;
};
const row = (destination: string) =>
  coverageStats().destinations.find((r) => r.destination === destination);

async function hops(path: string): Promise<HopRecord[]> {
  const res = await fetch(`${base('orders', 'beta')}${path}`, {
    headers: { 'x-gray-id': 'beta' },
    signal: AbortSignal.timeout(VISIT_MS),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { hops: HopRecord[] }).hops;
}

describe('the broken link (propagation coverage)', () => {
  it('OUT-01 an unwrapped fetch on the beta lane loses the marker and is counted missing, with its line', async () => {
    const pricing = new URL(base('pricing', 'beta')).origin;
    const before = row(pricing)?.missing ?? 0;
    const seen = await hops('/broken-link');
    expect(seen.map((h) => [h.hop, h.saw])).toEqual([
      ['orders', 'beta'],
      ['pricing', 'stable'],
    ]);
    expect((row(pricing)?.missing ?? 0) - before).toBe(1);
    expect(row(pricing)?.lastMissingSite).toMatch(/src\/services\/orders\.ts:\d+/);
    expect(warnings.some((w) => w.includes('left without the marker') && w.includes(pricing))).toBe(
      true,
    );
  });

  it('OUT-01 the wrapped hops of the normal route carry the lane and count as carried', async () => {
    const inventory = new URL(services.lanes.get('inventory')?.get('stable')?.url ?? '').origin;
    const before = row(inventory)?.carried ?? 0;
    const seen = await hops('/orders/1');
    expect(seen.every((h) => h.saw === 'beta')).toBe(true);
    expect((row(inventory)?.carried ?? 0) - before).toBeGreaterThanOrEqual(1);
    expect(row(inventory)?.missing ?? 0).toBe(0);
  });
});
