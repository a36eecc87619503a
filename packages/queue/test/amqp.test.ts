import amqp, { type ChannelModel } from 'amqplib';
import { createMessageLanes } from '../dist/index.js';
import { createAmqpLanes } from '../dist/amqp.js';
import { HEADER, binaryCases, openCases, tableCases } from './adversarial.js';
import { startRabbit } from './brokers/rabbitmq.js';
import { CONFIG } from './helpers.js';
import { laneSuite, type BrokerDriver } from './lane-suite.js';

laneSuite(async () => {
  const server = await startRabbit();
  const connection: ChannelModel = await amqp.connect(server.url);
  connection.on('error', () => undefined);
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  const driver: BrokerDriver = {
    broker: 'amqp',
    url: server.url,
    // AMQP tables keep strings, numbers, booleans, tables, arrays and byte arrays (Buffers).
    cases: [...openCases(), ...binaryCases(), ...tableCases()],
    async open(name) {
      const router = createAmqpLanes({
        lanes,
        connection,
        queue: name,
        queueOptions: { durable: false },
        liveness: { intervalMs: 200, graceMs: 1000 },
        drainIntervalMs: 200,
      });
      await router.setup();
      const raw = await connection.createConfirmChannel();
      const send = (ids: readonly string[]): Promise<void> =>
        Promise.all(ids.map((id) => router.publish(Buffer.from(id)))).then(() => undefined);
      return {
        publish: (id) => send([id]),
        publishMany: send,
        async consume(lane, onMessage) {
          return router.consume(
            lane,
            async (msg, channel) => {
              await onMessage(msg.content.toString());
              channel.ack(msg);
            },
            { prefetch: 50 },
          );
        },
        live: (lane) => router.liveness.refresh(lane),
        pending: async (lane) => (await raw.checkQueue(router.queueFor(lane))).messageCount,
        async publishRaw(id, row) {
          const headers = row.table ?? { [HEADER]: row.value };
          raw.sendToQueue(name, Buffer.from(id), { headers });
          await raw.waitForConfirms();
        },
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
      await connection.close().catch(() => undefined);
      await server.stop();
    },
  };
});
