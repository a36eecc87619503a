import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createAmqpLanes } from '../dist/amqp.js';
import { HEADER, binaryCases, openCases, tableCases } from './adversarial.js';
import { startRabbit } from './brokers/rabbitmq.js';
import { CONFIG, fresh, until } from './helpers.js';
import { laneSuite, routerTuning, type BrokerDriver } from './lane-suite.js';

// One RabbitMQ node for the whole file (it takes long to boot): the shared lane scenarios and the
// AMQP-only rows below.
let started: Promise<{ url: string; connection: ChannelModel; stop(): Promise<void> }> | undefined;
const rabbit = () =>
  (started ??= (async () => {
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
  })());
afterAll(async () => (await started)?.stop(), 60_000);

laneSuite(async () => {
  const server = await rabbit();
  const { connection } = server;
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  const driver: BrokerDriver = {
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
        queueOptions: { durable: false },
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
  return { driver, stop: async () => undefined };
});

describe('RabbitMQ specifics', () => {
  it('MQ-14 a base queue refusing publishes (x-max-length, reject-publish) never makes the drain lose or strand a message', async () => {
    const { connection } = await rabbit();
    const queue = fresh('full');
    const lanes = createMessageLanes({ config: CONFIG });
    const ch = await connection.createConfirmChannel();
    const limited = { 'x-max-length': 5, 'x-overflow': 'reject-publish' };
    await ch.assertQueue(queue, { durable: false, arguments: limited });
    await ch.assertQueue(`${queue}.lane.beta`, { durable: false });
    const strand = async (ids: readonly string[]): Promise<void> => {
      for (const id of ids) {
        ch.sendToQueue(`${queue}.lane.beta`, Buffer.from(id), { headers: { [HEADER]: 'beta' } });
      }
      await ch.waitForConfirms();
    };
    const router = createAmqpLanes({
      lanes,
      connection,
      queue,
      liveness: { intervalMs: 200, graceMs: 1000 },
      drainIntervalMs: 200,
      drainBatch: 4,
    });
    const first = Array.from({ length: 30 }, (_, i) => `f-${i}`);
    await strand(first);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const stable = await router.consume(
      'stable',
      async (msg, channel) => {
        await gate;
        seen.push(msg.content.toString());
        channel.ack(msg);
      },
      { prefetch: 1 },
    );
    try {
      // The base queue is full (5 ready + 1 held by the gated consumer): drains are refused.
      await new Promise((r) => setTimeout(r, 3_000));
      release();
      await until(() => new Set(seen).size === first.length, 30_000);
      const late = ['l-0', 'l-1'];
      await strand(late);
      await until(() => new Set(seen).size === first.length + late.length, 30_000);
      expect([...new Set(seen)].sort()).toEqual([...first, ...late].sort());
      expect(seen.length).toBe(first.length + late.length);
      expect((await ch.checkQueue(`${queue}.lane.beta`)).messageCount).toBe(0);
    } finally {
      release();
      await stable.close();
      await router.close();
      await ch.close();
    }
  }, 90_000);

  it('MQ-17 consume() on a queue the broker refuses (404, 403, 405) rejects with the broker error; the process lives', async () => {
    const { url } = await rabbit();
    const script = fileURLToPath(new URL('./fixtures/amqp-refused.mjs', import.meta.url));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [script, url, fresh('refused')],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const rows = JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as {
      case: string;
      outcome: string;
    }[];
    expect(rows.map((r) => r.outcome)).toEqual([
      'rejected:404',
      'rejected:404',
      'rejected:403',
      'rejected:405',
    ]);
  }, 90_000);
});
