// MQ-16 / review 168 D1: the NATS and Kafka types are declared in graylane, not imported from a
// client, yet a router built on a client's `js` hands the handler that client's own message, ack
// and consume-options types (v3 and v2), and a Kafka handler written apart gets kafkajs' payload
// shape. This file only has to compile (`npm run typecheck -w @graylane/queue`): each line below
// that reads a client-only member fails to compile if the types fall back to the structural ones.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JsMsg, type PubAck } from '@nats-io/jetstream';
import * as natsV2 from 'nats';
import type { EachMessagePayload } from 'kafkajs';
import { createMessageLanes } from '../../src/index.js';
import {
  createNatsLanes,
  withGrayNatsMessage,
  type NatsJetStreamLike,
  type NatsJsMsg,
  type NatsLanes,
} from '../../src/nats/index.js';
import { withGrayKafkaMessage, type KafkaEachMessagePayload } from '../../src/kafka/index.js';

declare function handle(msg: unknown): Promise<void>;

export async function typedStructurally(): Promise<void> {
  const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });

  // v3: the client's own JsMsg, PubAck and ConsumeOptions come through.
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const orders = createNatsLanes({
    lanes,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    stream: 'ORDERS',
    subject: 'orders',
  });
  const ack: PubAck = await orders.publish('{"id":1}');
  const seq: number = ack.seq;
  const consumer = await orders.consume(
    'beta',
    (m) => {
      const redeliveries: number = m.info.deliveryCount; // JsMsg of v3, not the structural one
      const exact: JsMsg = m;
      void handle([redeliveries, exact, seq]);
      m.ack();
    },
    { max_messages: 10 },
  );
  for await (const m of consumer.messages) m.ack(); // ConsumerMessages is the client's iterator
  await consumer.close();

  // v2 (`nats`): its jetstream() and jetstreamManager() satisfy the router's structural types.
  const nc2 = await natsV2.connect({ servers: '127.0.0.1:4222' });
  const orders2 = createNatsLanes({
    lanes,
    js: nc2.jetstream(),
    jsm: await nc2.jetstreamManager(),
    stream: 'ORDERS',
    subject: 'orders',
    headers: natsV2.headers,
  });
  const ack2: natsV2.PubAck = await orders2.publish('{"id":1}');
  await orders2.consume('beta', (m) => {
    const exact: natsV2.JsMsg = m;
    void handle([ack2.seq, exact.info.streamSequence]);
    m.ack();
  });

  // A router typed without its client: the structural message, still enough to ack.
  const loose: NatsLanes<NatsJetStreamLike> = orders;
  await loose.consume('stable', (m: NatsJsMsg) => m.ack());
  // A handler written apart, before any client is known.
  const apart = withGrayNatsMessage(lanes, (m) => m.term('bad'));
  apart({} as JsMsg);

  // Kafka: a handler written apart gets kafkajs' payload shape; kafkajs' own fits the wrapper.
  const each = withGrayKafkaMessage(lanes, async ({ message, partition }) => {
    const value: Buffer | null = message.value;
    await handle([value, partition, message.offset]);
  });
  const payload: KafkaEachMessagePayload = {} as EachMessagePayload;
  await each(payload);
}
