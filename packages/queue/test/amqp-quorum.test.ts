import amqp, { type ChannelModel } from 'amqplib';
import { afterAll } from 'vitest';
import { amqpDriver } from './brokers/amqp-driver.js';
import { startRabbit } from './brokers/rabbitmq.js';
import { laneSuite } from './lane-suite.js';

// The shared lane scenarios (MQ-01 … MQ-19) again, on quorum lane queues (MQ-22): RabbitMQ counts
// a quorum queue's held `basic.get`s as consumers and every `nack` as a delivery, so the drain
// works differently there. A RabbitMQ node of its own, so this file runs beside amqp.test.ts.
let started: Promise<{ url: string; connection: ChannelModel; stop(): Promise<void> }> | undefined;
afterAll(async () => (await started)?.stop(), 60_000);

laneSuite(async () => {
  started ??= (async () => {
    const server = await startRabbit();
    const connection = await amqp.connect(server.url);
    connection.on('error', () => undefined);
    return {
      url: server.url,
      connection,
      async stop() {
        await connection.close().catch(() => undefined);
        await server.stop();
      },
    };
  })();
  const quorum = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  return { driver: amqpDriver(await started, quorum), stop: async () => undefined };
});
