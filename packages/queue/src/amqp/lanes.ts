import type {
  Channel,
  ChannelModel,
  ConfirmChannel,
  ConsumeMessage,
  Message,
  Options,
} from 'amqplib';
import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { assertLane, laneName } from '../routing/names.js';
import { otherLanes, routeLane } from '../routing/route.js';
import { publishOptionsWith, withGrayMessage } from './carrier.js';

/** Options of {@link createAmqpLanes}. */
export interface AmqpLanesOptions {
  /** The marker logic (`createMessageLanes`). */
  readonly lanes: MessageLanes;
  /** An amqplib connection; the router opens its own channels on it. */
  readonly connection: ChannelModel;
  /** The logical queue. The default lane consumes it; lane `beta` consumes `<queue>.lane.beta`. */
  readonly queue: string;
  /** Options for every queue `setup()` asserts. Default `{ durable: true }`. */
  readonly queueOptions?: Options.AssertQueue;
  /** Liveness cache and grace. */
  readonly liveness?: LivenessOptions;
  /** How often the default lane's consumers drain lanes without consumers. Default 1000 ms. */
  readonly drainIntervalMs?: number;
  /** Messages moved per lane per tick. Default 500. */
  readonly drainBatch?: number;
}

/** A consumer started by {@link AmqpLanes.consume}. */
export interface AmqpLaneConsumer {
  /** The channel the consumer runs on: ack and nack deliveries on it. */
  readonly channel: Channel;
  readonly queue: string;
  readonly consumerTag: string;
  /** Cancels the consumer, stops its drain loop and closes its channel. */
  close(): Promise<void>;
}

/** Options of {@link AmqpLanes.consume}. */
export interface AmqpConsumeOptions extends Options.Consume {
  /** `basic.qos` prefetch for this consumer's channel. Default 10. */
  readonly prefetch?: number;
}

/** Lane-aware publishing and consuming on one logical RabbitMQ queue. */
export interface AmqpLanes {
  /** Asserts the base queue and one queue per non-default version. */
  setup(): Promise<void>;
  /** The queue that serves `lane`. */
  queueFor(lane: string): string;
  /** Publishes with the marker, to the lane's queue when that lane has a live consumer. */
  publish(content: Buffer, options?: Options.Publish): Promise<void>;
  /**
   * Consumes as `lane`. The handler runs inside each message's lane and acks on `channel`. A
   * default-lane consumer also drains lanes whose consumers are gone (lane fallback).
   */
  consume(
    lane: string,
    onMessage: (msg: ConsumeMessage, channel: Channel) => unknown,
    options?: AmqpConsumeOptions,
  ): Promise<AmqpLaneConsumer>;
  /** The liveness cache (RabbitMQ consumer counts). */
  readonly liveness: Liveness;
  /** Closes the router's own channels (not the connection, not consumers). */
  close(): Promise<void>;
}

/**
 * Lanes on RabbitMQ through amqplib. Each non-default version has its own queue; a lane is alive
 * while its queue has consumers (`checkQueue().consumerCount`, maintained by the broker: a
 * consumer disappears when its channel or connection closes, or when heartbeats stop). Producers
 * route a lane's messages to its queue only while it is alive, else to the base queue. Consumers
 * of the default lane move what a dead lane left behind (`basic.get` + confirmed republish +
 * ack: at least once, never lost) back to the base queue within the liveness grace plus one drain
 * interval. `basic.get` registers no consumer, so draining never looks like liveness.
 *
 * @example
 * ```ts
 * import amqp from 'amqplib';
 * import { createMessageLanes } from '@graylane/queue';
 * import { createAmqpLanes } from '@graylane/queue/amqp';
 *
 * const connection = await amqp.connect('amqp://127.0.0.1');
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * const orders = createAmqpLanes({ lanes, connection, queue: 'orders' });
 * await orders.setup();
 * await orders.consume('stable', async (msg, channel) => {
 *   await handle(msg);
 *   channel.ack(msg);
 * });
 * await orders.publish(Buffer.from('{"id":1}'));
 * ```
 */
export function createAmqpLanes(options: AmqpLanesOptions): AmqpLanes {
  const { lanes, connection, queue } = options;
  const queueFor = (lane: string): string =>
    lane === lanes.config().default ? queue : laneName(queue, lane);

  const probeCh = reopening(() => connection.createChannel());
  const publishCh = reopening(() => connection.createConfirmChannel());

  const liveness = createLiveness(async (lane) => {
    const ch = await probeCh.get();
    return (await ch.checkQueue(queueFor(lane))).consumerCount > 0;
  }, options.liveness);

  const router: AmqpLanes = {
    liveness,
    queueFor,
    async setup() {
      const ch = await connection.createChannel();
      try {
        for (const v of lanes.config().versions) {
          await ch.assertQueue(queueFor(v), options.queueOptions ?? { durable: true });
        }
      } finally {
        await ch.close();
      }
    },
    async publish(content, publishOptions) {
      const marker = lanes.outgoing();
      const lane = await routeLane(lanes, marker, liveness);
      const target = lane === undefined ? queue : queueFor(lane);
      const ch = await publishCh.get();
      await confirmed(ch, target, content, publishOptionsWith(lanes, publishOptions, marker));
    },
    async consume(lane, onMessage, consumeOptions = {}) {
      assertLane(lane, lanes.config().versions, 'createAmqpLanes().consume');
      const { prefetch = 10, ...rest } = consumeOptions;
      const channel = await connection.createChannel();
      await channel.prefetch(prefetch);
      const name = queueFor(lane);
      const handler = withGrayMessage(
        lanes,
        (msg) => (msg === null ? undefined : onMessage(msg, channel)),
        { served: lane },
      );
      const { consumerTag } = await channel.consume(name, handler, rest);
      const drain =
        lane === lanes.config().default ? await startAmqpDrain(router, options) : undefined;
      return {
        channel,
        queue: name,
        consumerTag,
        async close() {
          await drain?.stop();
          await channel.cancel(consumerTag).catch(() => undefined);
          await channel.close().catch(() => undefined);
        },
      };
    },
    async close() {
      await Promise.all([probeCh.close(), publishCh.close()]);
    },
  };
  return router;
}

/** Publishes on a confirm channel and resolves when the broker has confirmed the message. */
function confirmed(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.sendToQueue(queue, content, options, (err) => (err ? reject(err as Error) : resolve()));
  });
}

/** The default lane's drain loop, on its own confirm channel. */
/**
 * A channel opened on first use and opened again after the broker closed it (a channel error such
 * as a 404 from `checkQueue` or `basic.get` closes the channel, not the connection).
 */
function reopening<T extends Channel>(
  open: () => Promise<T>,
): { get(): Promise<T>; close(): Promise<void> } {
  let current: Promise<T> | undefined;
  return {
    get() {
      current ??= open().then((ch) => {
        ch.on('close', () => (current = undefined));
        ch.on('error', () => undefined);
        return ch;
      });
      return current;
    },
    async close() {
      const ch = current;
      current = undefined;
      await ch?.then((c) => c.close()).catch(() => undefined);
    },
  };
}

async function startAmqpDrain(router: AmqpLanes, options: AmqpLanesOptions): Promise<DrainLoop> {
  const channel = reopening(() => options.connection.createConfirmChannel());
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const loop = startDrain(
    () => otherLanes(options.lanes),
    router.liveness,
    {
      async onDead(lane) {
        const ch = await channel.get();
        const from = router.queueFor(lane);
        let last: Message | undefined;
        let moved = 0;
        // One `basic.get` per message, publishes pipelined, one wait for all confirms, then one
        // ack for the batch: a crash in between republishes (at least once), never loses.
        for (; moved < batch; moved++) {
          const msg = await ch.get(from, { noAck: false });
          if (msg === false) break;
          last = msg;
          ch.sendToQueue(options.queue, msg.content, republishOptions(msg, from));
        }
        if (last === undefined) return;
        await ch.waitForConfirms();
        ch.ack(last, true);
        countDrained(moved);
      },
    },
    options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
  return {
    tick: loop.tick,
    async stop() {
      await loop.stop();
      await channel.close();
    },
  };
}

/**
 * The properties a drained message is republished with: everything it had (headers and marker
 * included) except `userId`, which RabbitMQ checks against the publishing connection's user.
 */
function republishOptions(msg: Message, from: string): Options.Publish {
  const {
    userId: _userId,
    headers,
    ...props
  } = msg.properties as Message['properties'] & {
    userId?: unknown;
  };
  const clean: Options.Publish = {};
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) (clean as Record<string, unknown>)[key] = value;
  }
  return { ...clean, headers: { ...(headers as object), 'x-graylane-drained-from': from } };
}
