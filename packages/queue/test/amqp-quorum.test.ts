import { afterAll } from 'vitest';
import { amqpDriver, startRabbitConnection } from './brokers/amqp-driver.js';
import { laneSuite } from './lane-suite.js';

// The shared lane scenarios (MQ-01 … MQ-19) again, on quorum lane queues (MQ-22): RabbitMQ counts
// a quorum queue's held `basic.get`s as consumers and every `nack` as a delivery, so the drain
// works differently there. A RabbitMQ node of its own, so this file runs beside amqp.test.ts.
let started: ReturnType<typeof startRabbitConnection> | undefined;
afterAll(async () => (await started)?.stop(), 60_000);

laneSuite(async () => {
  started ??= startRabbitConnection();
  const quorum = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  return { driver: amqpDriver(await started, quorum), stop: async () => undefined };
});
