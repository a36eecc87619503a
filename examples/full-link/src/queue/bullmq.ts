/**
 * The demo's queue on BullMQ (Redis), when `GRAYLANE_REDIS_URL` is set: `@graylane/queue/bullmq`
 * routes each lane's jobs to its own queue while that lane has a live worker, else to the
 * default lane's queue. bullmq and ioredis are loaded only in this mode.
 */
import { randomUUID } from 'node:crypto';
import type { MessageLanes } from '@graylane/queue';
import type { OrderQueue } from './order-queue.js';

/** Opens the queue `graylane-demo-<random>` on the Redis at `url`. */
export async function openBullQueue(lanes: MessageLanes, url: string): Promise<OrderQueue> {
  const { Redis } = await import('ioredis');
  const { createBullLanes } = await import('@graylane/queue/bullmq');
  const parsed = new URL(url);
  const connection = {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
  const redis = new Redis({ ...connection, lazyConnect: true });
  await redis.connect();
  const name = `graylane-demo-${randomUUID().slice(0, 8)}`;
  const bull = createBullLanes({ lanes, name, connection, redis, liveness: { graceMs: 0 } });
  const workers: { close(): Promise<void> }[] = [];
  return {
    kind: `BullMQ on ${parsed.host}`,
    async publish(body) {
      await bull.add('order', { body }, { removeOnComplete: true, removeOnFail: true });
    },
    consume(lane, handler) {
      const w = bull.worker(lane, (job) => handler((job.data as { body: string }).body), {
        concurrency: 16,
      });
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.splice(0).map((w) => w.close()));
      await bull.close();
      await redis.quit();
    },
  };
}
