// Idiomatic user code against the real client types: this file only has to compile
// (`npm run typecheck -w @graylane/queue`). Each block is what a user writes from the docs.
import amqp, { type ConsumeMessage } from 'amqplib';
import { Worker, Queue, type Job } from 'bullmq';
import { Kafka, type EachMessagePayload, type EachBatchPayload } from 'kafkajs';
import { connect, headers as natsV3Headers } from '@nats-io/transport-node';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import * as natsV2 from 'nats';
import { createMessageLanes } from '../../src/index.js';
import { grayJobData, withGrayJob, createBullLanes } from '../../src/bullmq/index.js';
import { grayPublishOptions, withGrayMessage, createAmqpLanes } from '../../src/amqp/index.js';
import { grayNatsHeaders, withGrayNatsMessage } from '../../src/nats/index.js';
import {
  grayKafkaMessage,
  grayKafkaMessages,
  runInKafkaMessage,
  withGrayKafkaMessage,
} from '../../src/kafka/index.js';

declare function charge(data: { orderId: number }): Promise<string>;
declare function handle(msg: unknown): Promise<void>;

export async function idiomatic(): Promise<void> {
  const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
  const connection = { host: '127.0.0.1', port: 6379 };

  // BullMQ: a typed Worker with the wrapped processor, data typed by the user.
  const queue = new Queue<{ orderId: number }>('orders', { connection });
  await queue.add('charge', grayJobData(lanes, { orderId: 42 }));
  new Worker<{ orderId: number }, string>(
    'orders',
    withGrayJob(lanes, async (job: Job<{ orderId: number }, string>) => charge(job.data)),
    { connection },
  );
  new Worker(
    'orders',
    withGrayJob(lanes, async (job) => charge(job.data)),
    { connection },
  );
  new Worker(
    'orders',
    withGrayJob(lanes, async (job, token, signal) => {
      signal?.throwIfAborted();
      return `${job.id}:${token}`;
    }),
    { connection },
  );

  // amqplib: consume callbacks receive ConsumeMessage | null.
  const conn = await amqp.connect('amqp://127.0.0.1');
  const ch = await conn.createChannel();
  ch.sendToQueue('orders', Buffer.from('x'), grayPublishOptions(lanes, { persistent: true }));
  await ch.consume(
    'orders',
    withGrayMessage(lanes, async (msg: ConsumeMessage | null) => {
      if (!msg) return;
      await handle(msg);
      ch.ack(msg);
    }),
  );
  await ch.consume(
    'orders',
    withGrayMessage(lanes, (msg) => msg && ch.ack(msg)),
    { noAck: false },
  );
  const orders = createAmqpLanes({ lanes, connection: conn, queue: 'orders' });
  await orders.consume('stable', async (msg, channel) => {
    await handle(msg);
    channel.ack(msg);
  });

  // NATS v3 (@nats-io/*) and v2 (`nats`).
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const js = jetstream(nc);
  await js.publish('orders', 'x', { headers: grayNatsHeaders(lanes) });
  const existing = natsV3Headers();
  existing.set('trace', '1');
  await js.publish('orders', 'x', { headers: grayNatsHeaders(lanes, existing) });
  const consumer = await js.consumers.get('ORDERS', 'ORDERS');
  await consumer.consume({
    callback: withGrayNatsMessage(lanes, (m: JsMsg) => {
      m.ack();
    }),
  });
  await consumer.consume({
    callback: withGrayNatsMessage(lanes, (m) => {
      void handle(m.json()).then(() => m.ack());
    }),
  });
  const nc2 = await natsV2.connect({ servers: '127.0.0.1:4222' });
  const js2 = nc2.jetstream();
  await js2.publish('orders', natsV2.StringCodec().encode('x'), {
    headers: grayNatsHeaders(lanes, undefined, natsV2.headers),
  });
  const c2 = await js2.consumers.get('ORDERS', 'ORDERS');
  await c2.consume({
    callback: withGrayNatsMessage(lanes, (m) => {
      m.ack();
    }),
  });

  // kafkajs.
  const kafka = new Kafka({ brokers: ['127.0.0.1:9092'] });
  const producer = kafka.producer();
  await producer.send({ topic: 'orders', messages: grayKafkaMessages(lanes, [{ value: '{}' }]) });
  await producer.send({
    topic: 'orders',
    messages: [grayKafkaMessage(lanes, { key: 'k', value: Buffer.from('x'), headers: { a: '1' } })],
  });
  const kc = kafka.consumer({ groupId: 'g' });
  await kc.run({
    eachMessage: withGrayKafkaMessage(lanes, async ({ message }) => {
      await handle(message);
    }),
  });
  await kc.run({
    eachMessage: withGrayKafkaMessage(lanes, async (payload: EachMessagePayload) => {
      await payload.heartbeat();
    }),
  });
  await kc.run({
    eachBatch: async ({ batch, resolveOffset }: EachBatchPayload) => {
      for (const message of batch.messages) {
        await runInKafkaMessage(lanes, message, () => handle(message));
        resolveOffset(message.offset);
      }
    },
  });
  // Forwarding a consumed record keeps its (Buffer) headers.
  await kc.run({
    eachMessage: withGrayKafkaMessage(lanes, async ({ message }) => {
      await producer.send({
        topic: 'next',
        messages: [
          grayKafkaMessage(lanes, {
            value: message.value,
            ...(message.headers ? { headers: message.headers } : {}),
          }),
        ],
      });
    }),
  });
  void createBullLanes;
}
