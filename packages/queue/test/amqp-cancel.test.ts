// MQ-17 (review 149 D3): every way a RabbitMQ consumer of `createAmqpLanes().consume` ends reaches
// the app through `consumer.cancelled`, its handler never sees amqplib's `null`, its lane stops
// counting it as live, a default-lane consumer's drain stops with it, and `setup()` + `consume()`
// bring it back. Classic and quorum queues, a lane and the default lane. One RabbitMQ node for the
// file; each row has its own connection, queues and router, and the rows run concurrently.
import { EventEmitter } from 'node:events';
import { getGrayVersion, runWithGray } from '@graylane/node';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Options } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createAmqpLanes } from '../dist/amqp.js';
import type { AmqpConsumerCancel, AmqpLaneConsumer, AmqpLanes } from '../dist/amqp.js';
import { HEADER } from './adversarial.js';
import {
  AMQP_QUEUE_TYPES,
  FAST_DRAIN_MS,
  FAST_TUNING,
  useRabbitConnection,
} from './brokers/amqp-driver.js';
import { CONFIG, fresh, until } from './helpers.js';

// Rows mostly wait (on the broker, on drain intervals): many at once keep the file short.
vi.setConfig({ maxConcurrency: 12 });

const rabbit = useRabbitConnection();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type QueueType = (typeof AMQP_QUEUE_TYPES)[number][0];
type QueueOptions = Options.AssertQueue;

/** One row's world: its own connection, router and consumer on fresh queues. */
interface Row {
  readonly url: string;
  readonly connection: ChannelModel;
  readonly admin: Channel;
  readonly router: AmqpLanes;
  readonly consumer: AmqpLaneConsumer;
  readonly queue: string;
  readonly lane: string;
  readonly queueOptions: QueueOptions;
  /** Every argument the handler got. */
  readonly calls: (ConsumeMessage | null)[];
}

/** How the consumer ends, and what `cancelled` must then say. */
interface Way {
  readonly name: string;
  readonly reason: AmqpConsumerCancel['reason'];
  /** The broker's error code `cancelled.error` carries (a channel closed by the broker). */
  readonly code?: number;
  /** The row's connection is gone afterwards. */
  readonly connectionGone?: boolean;
  /** The queue types it applies to (default: both). */
  readonly types?: readonly QueueType[];
  end(row: Row): Promise<unknown>;
}

const deleteQueue = (row: Row) => row.admin.deleteQueue(row.consumer.queue);

const WAYS: readonly Way[] = [
  { name: 'its queue deleted by another connection', reason: 'broker', end: (r) => deleteQueue(r) },
  {
    name: 'its queue deleted on its own connection',
    reason: 'broker',
    async end(r) {
      const ch = await r.connection.createChannel();
      await ch.deleteQueue(r.consumer.queue);
      await ch.close();
    },
  },
  {
    name: 'its queue deleted, then declared again once the cancel arrived (setup())',
    reason: 'broker',
    async end(r) {
      await deleteQueue(r);
      await r.consumer.cancelled;
      await r.router.setup();
    },
  },
  {
    // Classic only: RabbitMQ 3.10 sends no basic.cancel when a quorum queue is deleted and
    // declared again within a few ms; the consumer stays attached to the new queue but gets
    // nothing until its channel closes (measured; no client can see it: docs/queues.md).
    name: 'its queue deleted and declared again at once (setup())',
    reason: 'broker',
    types: ['classic'],
    async end(r) {
      await deleteQueue(r);
      await r.router.setup();
    },
  },
  {
    name: 'the app cancelling it on its channel',
    reason: 'app',
    end: (r) => r.consumer.channel.cancel(r.consumer.consumerTag),
  },
  {
    name: 'the app closing its channel',
    reason: 'channel',
    end: (r) => r.consumer.channel.close(),
  },
  {
    name: 'the broker closing its channel (an ack for an unknown delivery tag: 406)',
    reason: 'channel',
    code: 406,
    async end(r) {
      r.consumer.channel.ack({ fields: { deliveryTag: 99_999 } } as ConsumeMessage);
      await r.consumer.cancelled;
    },
  },
  {
    name: 'the broker closing its channel (a declare that contradicts the queue: 406)',
    reason: 'channel',
    code: 406,
    end: (r) =>
      r.consumer.channel
        .assertQueue(r.consumer.queue, { durable: !r.queueOptions.durable })
        .catch(() => undefined),
  },
  {
    name: 'the app closing the connection',
    reason: 'connection',
    connectionGone: true,
    end: (r) => r.connection.close(),
  },
  {
    name: 'the connection lost (socket destroyed)',
    reason: 'connection',
    connectionGone: true,
    async end(r) {
      const { stream } = (
        r.connection as unknown as { connection: { stream: { destroy(err: Error): void } } }
      ).connection;
      stream.destroy(new Error('read ECONNRESET (test)'));
      await r.consumer.cancelled;
    },
  },
  { name: 'its own close()', reason: 'closed', end: (r) => r.consumer.close() },
];

async function openRow(lane: string, queueOptions: QueueOptions): Promise<Row> {
  const { url, connection: shared } = await rabbit();
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  const admin = await shared.createChannel();
  admin.on('error', () => undefined);
  const queue = fresh('cancel');
  const lanes = createMessageLanes({ config: CONFIG });
  const router = createAmqpLanes({ lanes, connection, queue, queueOptions, ...FAST_TUNING });
  await router.setup();
  const calls: (ConsumeMessage | null)[] = [];
  const consumer = await router.consume(lane, (msg, ch) => {
    calls.push(msg);
    if (msg) ch.ack(msg);
  });
  // As docs/queues.md says: the channel is the app's, and so are its errors.
  consumer.channel.on('error', () => undefined);
  // Running before it ends: a message published in its lane reaches it.
  await runWithGray(lane, () => router.publish(Buffer.from('before')));
  await until(() => calls.length === 1);
  return { url, connection, admin, router, consumer, queue, lane, queueOptions, calls };
}

/**
 * Brought back as the docs say: `setup()`, then `consume()` again (on a fresh router over the
 * shared connection: the row's may be gone). A lane consumer gets what is published in its lane;
 * a default one drains what waits on the lane.
 */
async function comesBack(row: Row, lane: 'beta' | 'stable'): Promise<void> {
  const { connection } = await rabbit();
  const lanes = createMessageLanes({ config: CONFIG });
  const router = createAmqpLanes({
    lanes,
    connection,
    queue: row.queue,
    queueOptions: row.queueOptions,
    ...FAST_TUNING,
  });
  await router.setup();
  const seen: string[] = [];
  const again = await router.consume(lane, (msg, ch) => {
    seen.push(`${msg.content.toString()}@${getGrayVersion() ?? '?'}`);
    ch.ack(msg);
  });
  if (lane === 'beta') await runWithGray('beta', () => router.publish(Buffer.from('after')));
  // The message the row's consumer got first may come again (at least once: a quorum queue applies
  // acks a few ms late, and a connection closed before then has it requeued).
  const fresh = () => seen.filter((s) => !s.startsWith('before@'));
  await until(() => fresh().length > 0, 10_000);
  expect(fresh()).toEqual([lane === 'beta' ? 'after@beta' : 'stranded@beta']);
  await again.close();
  expect((await again.cancelled).reason).toBe('closed');
  await router.close();
}

describe.concurrent('MQ-17 a RabbitMQ consumer that ends, however it ends, says so', () => {
  describe.each(AMQP_QUEUE_TYPES)('%s queues', (type, options) => {
    const queueOptions: QueueOptions = options;
    const ways = WAYS.filter((w) => w.types?.includes(type) ?? true).map(
      (w) => [w.name, w] as const,
    );
    it.each(ways)(
      'MQ-17 a lane (beta) consumer ended by %s: cancelled says how; no null reaches the handler; the lane goes dead; setup() + consume() bring it back',
      async (_name, way) => {
        const row = await openRow('beta', queueOptions);
        await way.end(row);
        const cancel = await row.consumer.cancelled;
        expect(cancel?.reason).toBe(way.reason);
        if (way.code !== undefined) {
          expect((cancel.error as { code?: number } | undefined)?.code).toBe(way.code);
        }
        // Later ends change nothing: the first one is what it says.
        await row.consumer.close();
        expect(await row.consumer.cancelled).toEqual(cancel);
        expect(row.calls.every((m) => m !== null)).toBe(true);
        // The router that ran it no longer counts it (within the grace).
        if (!way.connectionGone) {
          await until(async () => !(await row.router.liveness.refresh('beta')), 5_000);
        }
        await comesBack(row, 'beta');
        await row.router.close();
        await row.connection.close().catch(() => undefined);
        await row.admin.close().catch(() => undefined);
      },
    );

    it.each(ways)(
      'MQ-17 a default-lane (stable) consumer ended by %s: cancelled says how; its drain stops with it',
      async (_name, way) => {
        const row = await openRow('stable', queueOptions);
        await way.end(row);
        const cancel = await row.consumer.cancelled;
        expect(cancel?.reason).toBe(way.reason);
        expect(row.calls.every((m) => m !== null)).toBe(true);
        // Both queues are there (again), beta has no consumer and a stranded message: a drain
        // still running would move it to the base queue within a few intervals.
        const laneQueue = `${row.queue}.lane.beta`;
        await row.admin.assertQueue(row.queue, queueOptions);
        await row.admin.assertQueue(laneQueue, queueOptions);
        row.admin.sendToQueue(laneQueue, Buffer.from('stranded'), {
          headers: { [HEADER]: 'beta' },
        });
        await until(async () => (await row.admin.checkQueue(laneQueue)).messageCount === 1);
        await sleep(FAST_DRAIN_MS * 16);
        expect((await row.admin.checkQueue(laneQueue)).messageCount).toBe(1);
        // A default consumer started again drains it (the wait above could have seen a move).
        await comesBack(row, 'stable');
        await row.consumer.close();
        expect(await row.consumer.cancelled).toEqual(cancel);
        await row.router.close();
        await row.connection.close().catch(() => undefined);
        await row.admin.close().catch(() => undefined);
      },
    );

    it('MQ-17 control: a basic.cancel of its tag from another channel cancels nothing (RabbitMQ scopes tags to a channel)', async () => {
      const row = await openRow('beta', queueOptions);
      const other = await row.connection.createChannel();
      await other.cancel(row.consumer.consumerTag);
      await runWithGray('beta', () => row.router.publish(Buffer.from('still')));
      await until(() => row.calls.length === 2);
      const pending = await Promise.race([row.consumer.cancelled, sleep(100).then(() => 'none')]);
      expect(pending).toBe('none');
      expect(await row.router.liveness.refresh('beta')).toBe(true);
      await other.close();
      await row.consumer.close();
      expect((await row.consumer.cancelled)?.reason).toBe('closed');
      await row.router.close();
      await row.connection.close();
      await row.admin.close();
    });

    it('MQ-17 control: x-expires never expires a queue while it has a consumer (RabbitMQ: unused = no consumers)', async () => {
      const expiring = {
        ...queueOptions,
        arguments: { ...queueOptions.arguments, 'x-expires': 200 },
      };
      const row = await openRow('beta', expiring);
      await sleep(600);
      await runWithGray('beta', () => row.router.publish(Buffer.from('still')));
      await until(() => row.calls.length === 2);
      const pending = await Promise.race([row.consumer.cancelled, sleep(50).then(() => 'none')]);
      expect(pending).toBe('none');
      await row.consumer.close();
      await row.router.close();
      await row.connection.close();
      await row.admin.close();
    });
  });
});

describe('MQ-17 an end that arrives before consume() returns', () => {
  // amqplib reads `basic.consume-ok` and a `basic.cancel` (or the channel's close) from one
  // socket read: the consumer callback gets `null` before `consume()` has resolved to the router.
  const fake = (onConsume: (deliver: (m: null) => void, ch: FakeChannel) => void) => {
    const ch = new FakeChannel(onConsume);
    const connection = {
      createChannel: async () => ch,
      createConfirmChannel: async () => ch,
    } as unknown as ChannelModel;
    return { ch, connection };
  };
  it.each([
    ['a broker cancel (null delivery)', (deliver: (m: null) => void) => deliver(null), 'broker'],
    [
      'its channel closing',
      (_d: (m: null) => void, ch: FakeChannel) => ch.emit('close'),
      'channel',
    ],
  ] as const)('MQ-17 %s is reported, not lost', async (_name, how, reason) => {
    const { connection } = fake(how);
    const router = createAmqpLanes({
      lanes: createMessageLanes({ config: CONFIG }),
      connection,
      queue: fresh('early'),
    });
    const calls: unknown[] = [];
    const consumer = await router.consume('beta', (m) => void calls.push(m));
    expect((await consumer.cancelled)?.reason).toBe(reason);
    expect(calls).toEqual([]);
    expect(await router.liveness.refresh('beta').catch(() => false)).toBe(false);
  });
});

/** Just enough of an amqplib channel for `consume()`. */
class FakeChannel extends EventEmitter {
  constructor(private readonly onConsume: (deliver: (m: null) => void, ch: FakeChannel) => void) {
    super();
  }
  prefetch = async () => undefined;
  consume = async (_q: string, cb: (m: null) => void) => {
    this.onConsume(cb, this);
    return { consumerTag: 'tag-1' };
  };
  cancel = async () => undefined;
  close = async () => undefined;
  checkQueue = async () => ({ consumerCount: 0, messageCount: 0 });
}
