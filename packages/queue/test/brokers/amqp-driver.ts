import amqp, { type ChannelModel, type Options } from 'amqplib';
import { afterAll } from 'vitest';
import { createMessageLanes } from '../../dist/index.js';
import { createAmqpLanes } from '../../dist/amqp.js';
import { HEADER, binaryCases, openCases, tableCases } from '../adversarial.js';
import { CONFIG } from '../helpers.js';
import { routerTuning, type BrokerDriver } from '../lane-suite.js';
import { startRabbit } from './rabbitmq.js';

/** A RabbitMQ node for one test file and a connection to it; `stop()` closes both. */
export async function startRabbitConnection(): Promise<{
  url: string;
  connection: ChannelModel;
  stop(): Promise<void>;
}> {
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
}

/**
 * The shared lane scenarios' driver for RabbitMQ: every logical queue a router over `connection`
 * whose queues are declared with `queueOptions` (classic by default; the quorum file passes
 * `x-queue-type: quorum`).
 */
export function amqpDriver(
  server: { url: string; connection: ChannelModel },
  queueOptions: Options.AssertQueue = { durable: false },
): BrokerDriver {
  const { connection } = server;
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  return {
    broker: 'amqp',
    url: server.url,
    // AMQP tables keep strings, numbers, booleans, tables, arrays and byte arrays (Buffers).
    cases: [...openCases(), ...binaryCases(), ...tableCases()],
    documentedDrainBoundMs: 4_000,
    async open(name, tuning = {}) {
      const router = createAmqpLanes({
        lanes: tuning.lanes ?? lanes,
        connection,
        queue: name,
        queueOptions,
        ...routerTuning(tuning),
      });
      await router.setup();
      const raw = await connection.createConfirmChannel();
      const send = (ids: readonly string[]): Promise<void> =>
        Promise.all(ids.map((id) => router.publish(Buffer.from(id)))).then(() => undefined);
      const errors: unknown[] = [];
      return {
        errors,
        publish: (id) => send([id]),
        publishMany: send,
        async publishWith(items) {
          await Promise.all(
            items.map(({ id, marker }) =>
              router.publish(
                Buffer.from(id),
                marker === undefined ? undefined : { headers: { [HEADER]: marker } },
              ),
            ),
          );
        },
        async strand(lane, ids) {
          for (const id of ids) {
            raw.sendToQueue(router.queueFor(lane), Buffer.from(id), {
              headers: { [HEADER]: lane },
            });
          }
          await raw.waitForConfirms();
        },
        async consume(lane, onMessage) {
          return router.consume(
            lane,
            async (msg, channel) => {
              try {
                await onMessage(msg.content.toString());
                channel.ack(msg);
              } catch (err) {
                errors.push(err);
              }
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
}

/**
 * One RabbitMQ node and connection for a test file: started on first use, stopped after the
 * file's last row.
 */
export function useRabbitConnection(): () => ReturnType<typeof startRabbitConnection> {
  let started: ReturnType<typeof startRabbitConnection> | undefined;
  afterAll(async () => (await started)?.stop(), 60_000);
  return () => (started ??= startRabbitConnection());
}

/** Drain interval and liveness of a router whose rows wait on them (short). */
export const FAST_DRAIN_MS = 25;
export const FAST_TUNING = {
  liveness: { intervalMs: FAST_DRAIN_MS, graceMs: 2 * FAST_DRAIN_MS },
  drainIntervalMs: FAST_DRAIN_MS,
};

/** The lane queue types the RabbitMQ rows run on, with the options each is declared with. */
export const AMQP_QUEUE_TYPES = [
  ['classic', { durable: false }],
  ['quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } }],
] as const satisfies readonly (readonly [string, Options.AssertQueue])[];
