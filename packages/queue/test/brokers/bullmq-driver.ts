import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { createMessageLanes } from '../../dist/index.js';
import { createBullLanes } from '../../dist/bullmq.js';
import { openCases } from '../adversarial.js';
import { CONFIG } from '../helpers.js';
import { routerTuning, type BrokerDriver } from '../lane-suite.js';
import { startRedis } from './redis.js';

/**
 * The shared lane scenarios' driver for BullMQ, on a redis-server of its own: every logical queue
 * a router whose queues live under `prefix` (BullMQ's default, `bull`, when undefined) and whose
 * workers take `workerOptions` (concurrency 20 by default).
 */
export async function bullDriver(
  prefix?: string,
  concurrency = 20,
): Promise<{ driver: BrokerDriver; stop(): Promise<void> }> {
  const server = await startRedis();
  const connection: ConnectionOptions = { host: '127.0.0.1', port: server.port };
  const redis = new Redis(server.port, '127.0.0.1');
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  const closers: (() => Promise<unknown>)[] = [];
  const at = prefix === undefined ? {} : { prefix };
  const driver: BrokerDriver = {
    broker: 'bullmq',
    // The child consumer fixture reads the prefix after the address.
    url: `127.0.0.1:${server.port}${prefix === undefined ? '' : `/${prefix}`}`,
    // Job data is JSON: Buffers arrive as objects, so the byte rows do not apply.
    cases: openCases(),
    documentedDrainBoundMs: 9_000,
    async open(name, tuning = {}) {
      const router = createBullLanes({
        lanes: tuning.lanes ?? lanes,
        name,
        connection,
        redis,
        ...(prefix === undefined ? {} : { prefix }),
        ...(tuning.defaults ? {} : { heartbeatTtlMs: 5000 }),
        ...routerTuning(tuning),
      });
      const raw = new Queue(name, { connection, ...at });
      const counts = async (lane: string): Promise<number> => {
        const q = new Queue(router.queueFor(lane), { connection, ...at });
        const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized');
        await q.close();
        return Object.values(c).reduce((a, b) => a + b, 0);
      };
      const errors: unknown[] = [];
      return {
        errors,
        publish: async (id) => void (await router.add('m', { id })),
        publishMany: async (ids) =>
          void (await router.addBulk(ids.map((id) => ({ name: 'm', data: { id } })))),
        async publishWith(items) {
          await router.addBulk(
            items.map(({ id, marker }) => ({
              name: 'm',
              data: marker === undefined ? { id } : { id, __gray: marker },
            })),
          );
        },
        async strand(lane, ids) {
          const q = new Queue(router.queueFor(lane), { connection, ...at });
          await q.addBulk(ids.map((id) => ({ name: 'm', data: { id, __gray: lane } })));
          await q.close();
        },
        async consume(lane, onMessage) {
          const w = router.worker(lane, (job) => onMessage((job.data as { id: string }).id), {
            concurrency,
            ...(tuning.defaults ? {} : { stalledInterval: 1000 }),
          });
          w.worker.on('failed', (_job, err) => errors.push(err));
          await w.worker.waitUntilReady();
          return w;
        },
        live: (lane) => router.liveness.refresh(lane),
        pending: counts,
        publishRaw: async (id, row) => void (await raw.add('m', { id, __gray: row.value })),
        async close() {
          await raw.close();
          await router.close();
        },
      };
    },
  };
  return {
    driver,
    async stop() {
      await Promise.all(closers.map((c) => c()));
      await redis.quit();
      await server.stop();
    },
  };
}
