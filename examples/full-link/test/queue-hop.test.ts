/**
 * The demo's queue hop (issue 18): orders publishes "order placed" in its lane, the fulfilment
 * worker of that lane takes it (the lane arrives through the message headers, not the async
 * context), and the worker's outbound HTTP call to pricing carries the same lane. In-process (the
 * `npm start` default) and on BullMQ with a redis-server started here on loopback.
 */
import { createConfigStore } from '@graylane/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis } from '../../../packages/queue/test/brokers/redis.js';
import { isHopsBody, type HopRecord } from '../src/hop.js';
import { startServices, type Services } from '../src/stack.js';

const config = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });

async function order(services: Services, lane: 'stable' | 'beta', marker: string | undefined) {
  const base = services.lanes.get('orders')?.get(lane)?.url ?? '';
  const res = await fetch(`${base}/orders/1`, {
    headers: marker === undefined ? {} : { 'x-gray-id': marker },
  });
  const body: unknown = await res.json();
  const queue = isHopsBody(body) && isHopsBody(body.queue) ? body.queue.hops : [];
  return queue.map((h: HopRecord) => `${h.hop}:${h.saw}@${h.instance}`);
}

function queueHopSuite(name: string, redisUrl: () => string | undefined): void {
  describe(name, () => {
    let services: Services;
    beforeAll(async () => {
      services = await startServices({}, config, { redisUrl: redisUrl() });
    }, 30_000);
    afterAll(async () => {
      await services?.close();
    });

    it('MQ-01 a beta order reaches the beta worker, and the worker’s call reaches pricing-beta', async () => {
      expect(await order(services, 'beta', 'beta')).toEqual([
        'worker:beta@worker-beta',
        'pricing:beta@pricing-beta',
      ]);
    });

    it('MQ-01 a stable order (and an unmarked one) stays on stable through the queue', async () => {
      const expected = ['worker:stable@worker-stable', 'pricing:stable@pricing-stable'];
      expect(await order(services, 'stable', 'stable')).toEqual(expected);
      expect(await order(services, 'stable', undefined)).toEqual(expected);
    });

    it('MQ-05 I7 40 concurrent orders with mixed lanes: each worker sees its own message’s lane', async () => {
      const lanes = Array.from({ length: 40 }, (_, i): 'stable' | 'beta' =>
        i % 3 === 0 ? 'beta' : 'stable',
      );
      const got = await Promise.all(lanes.map((l) => order(services, l, l)));
      expect(got).toEqual(
        lanes.map((l) => [`worker:${l}@worker-${l}`, `pricing:${l}@pricing-${l}`]),
      );
    });

    it('reports where the queue runs', () => {
      expect(services.queueKind).toMatch(redisUrl() === undefined ? /^in-process$/ : /^BullMQ on /);
    });
  });
}

queueHopSuite('queue hop, in-process (npm start default)', () => undefined);

let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});
queueHopSuite('queue hop on BullMQ (GRAYLANE_REDIS_URL)', () =>
  redis === undefined ? undefined : `redis://127.0.0.1:${redis.port}`,
);
