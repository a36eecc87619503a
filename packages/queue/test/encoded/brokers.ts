import type { ChannelModel } from 'amqplib';
import { startRabbitConnection } from '../brokers/amqp-driver.js';
import { startNats } from '../brokers/nats.js';
import { startRedis } from '../brokers/redis.js';

/** The three brokers of `encoded.test.ts`, each started once for the file, on loopback. */
export interface Brokers {
  readonly rabbit: { readonly url: string; readonly connection: ChannelModel };
  readonly nats: { readonly url: string };
  readonly redis: { readonly port: number };
}

let started: Promise<Brokers & { stop(): Promise<void> }> | undefined;

/** Starts RabbitMQ, nats-server and redis-server together on first use; later calls share them. */
export function brokers(): Promise<Brokers> {
  started ??= (async () => {
    const all = await Promise.allSettled([startRabbitConnection(), startNats(), startRedis()]);
    const [rabbit, nats, redis] = all;
    if (
      rabbit.status !== 'fulfilled' ||
      nats.status !== 'fulfilled' ||
      redis.status !== 'fulfilled'
    ) {
      // Never leave a detached broker behind for a sibling that failed to start.
      await Promise.all(all.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      throw all.find((s) => s.status === 'rejected')?.reason;
    }
    return {
      rabbit: rabbit.value,
      nats: nats.value,
      redis: redis.value,
      async stop() {
        await Promise.all([rabbit.value.stop(), nats.value.stop(), redis.value.stop()]);
      },
    };
  })();
  return started;
}

/** Stops whatever {@link brokers} started. */
export async function stopBrokers(): Promise<void> {
  await (await started?.catch(() => undefined))?.stop();
}
