import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { readHeader } from '../carrier/table.js';
import { countRerouted } from '../metrics/stats.js';
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { createInFlight } from '../routing/inflight.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { PROMISE, assertClients } from '../routing/clients.js';
import { assertAmqpHeaders } from '../routing/encodable.js';
import { assertLane, assertRetired, assertRouterOptions, laneName } from '../routing/names.js';
import { routeMessage } from '../routing/route.js';
import { publishOptionsWith, withGrayMessage } from './carrier.js';
import { propertiesOf, publishMandatory, quietly, reopening, unroutable } from './channels.js';
import { connectionCloses, watchConsumer, type AmqpConsumerCancel } from './cancelled.js';
import { assertNoSenderRouting } from './sender-routing.js';
import { startAmqpDrain, type RouterDrains } from './drain.js';

/** Options of {@link createAmqpLanes}. */
export interface AmqpLanesOptions {
  /** The marker logic (`createMessageLanes`). */
  readonly lanes: MessageLanes;
  /** An amqplib connection; the router opens its own channels on it. */
  readonly connection: ChannelModel;
  /** The logical queue. The default lane consumes it; lane `beta` consumes `<queue>.lane.beta`. */
  readonly queue: string;
  /**
   * Options for the queues `setup()` asserts. Default `{ durable: true }`. Lane queues get them
   * without `autoDelete`: a lane queue deleted with its last consumer would drop what it holds.
   */
  readonly queueOptions?: Options.AssertQueue;
  /** Liveness cache and grace. */
  readonly liveness?: LivenessOptions;
  /** How often the default lane's consumers drain lanes without consumers. Default 1000 ms. */
  readonly drainIntervalMs?: number;
  /** Messages moved per lane per batch (a tick moves batches until the lane is empty). Default 500. */
  readonly drainBatch?: number;
  /** How long `close()` waits for handlers still running. Default 30 000 ms. */
  readonly closeTimeoutMs?: number;
  /**
   * Versions removed from the config whose lane destinations may still hold messages: the
   * default lane's consumers keep draining them. (A version removed while they run is
   * remembered without this.)
   */
  readonly retiredLanes?: readonly string[];
}

/** A consumer started by {@link AmqpLanes.consume}. */
export interface AmqpLaneConsumer {
  /** The channel the consumer runs on: ack and nack deliveries on it. */
  readonly channel: Channel;
  readonly queue: string;
  readonly consumerTag: string;
  /**
   * Resolves once the consumer stops receiving deliveries, saying how (never rejects): its
   * `close()`, the app's `channel.cancel(consumerTag)`, the broker (its queue deleted: what raw
   * amqplib reports as a `null` delivery, which never reaches the handler here), its channel or
   * the connection closing. From then on the lane no longer counts this consumer as live and a
   * default-lane consumer's drain has stopped. A consumer is never started again on its own: call
   * `close()`, then `setup()` and `consume()` again if it should.
   */
  readonly cancelled: Promise<AmqpConsumerCancel>;
  /**
   * Stops its drain loop, cancels the consumer (no new deliveries), waits for the handlers still
   * running to finish — their acks still work — for at most `closeTimeoutMs`, then closes its
   * channel (anything left unacked is redelivered: at least once).
   */
  close(): Promise<void>;
}

/** Options of {@link AmqpLanes.consume}. */
export interface AmqpConsumeOptions extends Options.Consume {
  /** `basic.qos` prefetch for this consumer's channel. Default 10. */
  readonly prefetch?: number;
}

/** Lane-aware publishing and consuming on one logical RabbitMQ queue. */
export interface AmqpLanes {
  /**
   * Asserts the base queue and one queue per non-default version (lane queues never
   * `autoDelete`).
   */
  setup(): Promise<void>;
  /** The queue that serves `lane`. */
  queueFor(lane: string): string;
  /**
   * Publishes with the marker, to the lane's queue when that lane has a live consumer, and
   * resolves once the broker confirmed that a queue took it. Published `mandatory`: should the
   * lane's queue be gone, the broker returns the message and it goes to the base queue instead
   * (counted in `queueStats().rerouted`); rejects when the broker refused it (`basic.nack`, the
   * broker's error) or when no queue took it at all (a `GraylaneError`, code `UNROUTABLE`) —
   * never a silent loss. `CC`/`BCC` are refused (`INVALID_OPTIONS`, nothing sent): the broker
   * confirms a message a CC copy alone reached.
   */
  publish(content: Buffer, options?: Options.Publish): Promise<void>;
  /**
   * Consumes as `lane`. The handler runs inside each message's lane and acks on `channel`. A
   * default-lane consumer also drains lanes whose consumers are gone (lane fallback). However the
   * consumer ends (the broker's cancel included), `consumer.cancelled` says so.
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
  assertRouterOptions(options, 'createAmqpLanes', ['queue'], ['connection']);
  assertClients(options, 'createAmqpLanes', [
    {
      field: 'connection',
      what: 'an amqplib connection (what amqp.connect() resolves to)',
      methods: ['createChannel', 'createConfirmChannel'],
      mistakes: [{ name: 'a Channel', methods: ['assertQueue', 'sendToQueue'] }, PROMISE],
    },
  ]);
  const { lanes, connection, queue } = options;
  assertRetired(options.retiredLanes, 'createAmqpLanes');
  const queueFor = (lane: string): string =>
    lane === lanes.config().default ? queue : laneName(queue, lane);

  const probeCh = reopening(() => connection.createChannel());
  const publishCh = reopening(() => connection.createConfirmChannel());

  const drains: RouterDrains = { holds: new Map(), busy: new Set(), kinds: new Map() };
  const { holds } = drains;
  /** This router's own consumers per queue, from `consume()` until cancelled or closed. */
  const own = new Map<string, number>();
  const liveness = createLiveness(async (lane) => {
    const name = queueFor(lane);
    // A consumer of this router's is known alive without asking (and without the estimate below,
    // which can miss a consumer that came back while the drain held gets on a quorum lane).
    if ((own.get(name) ?? 0) > 0) return true;
    const ch = await probeCh.get();
    const before = holds.get(name) ?? 0;
    const { consumerCount } = await ch.checkQueue(name);
    // This router's drain holding gets on a quorum lane is counted as consumers there, never a
    // consumer of the lane: subtracted, by no more than it held both when asked and when answered
    // (a batch's first get is counted once the drain has measured it: until then, alive).
    // A count below them: the broker has applied some of its acks already; then nothing is
    // subtracted (a consumer is never missed for gets the broker no longer counts).
    const mine = Math.min(before, holds.get(name) ?? 0);
    return (consumerCount >= mine ? consumerCount - mine : consumerCount) > 0;
  }, options.liveness);

  const router: AmqpLanes = {
    liveness,
    queueFor,
    async setup() {
      const base = options.queueOptions ?? { durable: true };
      // A lane's queue is never auto-deleted: deleted with its last consumer, it would take the
      // messages it holds with it, where no drain can reach them.
      const { autoDelete: _autoDelete, ...lane } = base;
      let ch = await connection.createChannel();
      ch.on('error', () => undefined);
      try {
        for (const v of lanes.config().versions) {
          const name = queueFor(v);
          try {
            await ch.assertQueue(name, name === queue ? base : lane);
          } catch (err) {
            // A lane queue an older release declared auto-delete, still held by its consumers:
            // it is kept as it is (it goes with them; publishes to it then fall back).
            if (name === queue || !/\bauto_delete\b/.test(String((err as Error).message)))
              throw err;
            ch = await connection.createChannel();
            ch.on('error', () => undefined);
            await ch.checkQueue(name);
          }
        }
      } finally {
        await quietly(() => ch.close());
      }
    },
    async publish(content, publishOptions) {
      assertAmqpHeaders(publishOptions?.headers, lanes, 'createAmqpLanes().publish');
      assertNoSenderRouting(publishOptions, 'createAmqpLanes().publish');
      const props = publishOptionsWith(lanes, publishOptions, lanes.outgoing());
      const lane = await routeMessage(lanes, (n) => readHeader(props.headers, n), liveness);
      const target = lane === undefined ? queue : queueFor(lane);
      const ch = await publishCh.get();
      const sent = await publishMandatory(ch, target, content, props);
      if (sent.kind === 'routed') return;
      if (sent.kind === 'refused') throw sent.error;
      if (lane === undefined || target === queue) throw unroutable(queue, sent.message);
      // The lane's queue is gone although the lane looked alive (auto-deleted with its last
      // consumer, expired, deleted): the message goes to the fallback, as the drain would move it.
      const again = await publishMandatory(
        ch,
        queue,
        sent.message.content,
        propertiesOf(sent.message),
      );
      if (again.kind === 'refused') throw again.error;
      if (again.kind === 'returned') throw unroutable(queue, again.message);
      countRerouted(lane);
    },
    async consume(lane, onMessage, consumeOptions = {}) {
      assertLane(lane, lanes.config().versions, 'createAmqpLanes().consume');
      const { prefetch = 10, ...rest } = consumeOptions;
      const name = queueFor(lane);
      const channel = await connection.createChannel();
      const inflight = createInFlight();
      // amqplib's `null` delivery (the broker cancelled the consumer) never reaches `onMessage`,
      // typed and documented without it: it ends the consumer (`consumer.cancelled`). Until the
      // consumer is watched an end is only noted: the broker's cancel or a channel close can
      // arrive in the same read as `basic.consume-ok`, before `consume` returns here.
      const since = connectionCloses(connection);
      let early: 'broker' | 'closed' | undefined;
      let brokerCancel = (): void => void (early ??= 'broker');
      const closedEarly = (): void => void (early ??= 'closed');
      const handler = withGrayMessage(
        lanes,
        (msg) => (msg === null ? brokerCancel() : onMessage(msg, channel)),
        { served: lane },
      );
      // Until `consume` returns, the caller cannot listen on the channel: a broker refusal (a
      // missing queue: 404) must reject this call, not crash the process as an unheard 'error'.
      const refusal = (): void => undefined;
      channel.on('error', refusal);
      channel.on('close', closedEarly);
      let consumerTag: string;
      try {
        await channel.prefetch(prefetch);
        ({ consumerTag } = await channel.consume(name, (m) => inflight.track(handler(m)), rest));
      } catch (err) {
        await quietly(() => channel.close());
        throw err;
      } finally {
        channel.off('error', refusal);
        channel.off('close', closedEarly);
      }
      const drain =
        lane === lanes.config().default ? startAmqpDrain(router, options, drains) : undefined;
      let drainStopped: Promise<void> | undefined;
      const stopDrain = (): Promise<void> =>
        (drainStopped ??= drain?.stop().catch(() => undefined) ?? Promise.resolve());
      // Counted as this router's consumer, and its drain runs, until it ends: by `close()`, by
      // the app on the channel handed over (`channel.cancel(consumerTag)`: amqplib reports no
      // `null` delivery for a cancel the client sent, review 134 D1), by the broker (its queue
      // deleted: a `null` delivery, review 149 D3), or its channel or connection closing.
      own.set(name, (own.get(name) ?? 0) + 1);
      const { cancelled, end, closed } = watchConsumer(channel, consumerTag, since, () => {
        const n = (own.get(name) ?? 1) - 1;
        if (n > 0) own.set(name, n);
        else own.delete(name);
        void stopDrain();
      });
      brokerCancel = () => end('broker');
      if (early === 'broker') end('broker');
      else if (early === 'closed') closed();
      return {
        channel,
        queue: name,
        consumerTag,
        cancelled,
        async close() {
          await stopDrain();
          // Asked on the probe channel: a queue deleted meanwhile (404) closes that one.
          const count = async (): Promise<number | undefined> => {
            try {
              return (await (await probeCh.get()).checkQueue(name)).consumerCount;
            } catch {
              return undefined;
            }
          };
          const counted = await count();
          end('closed');
          await quietly(() => channel.cancel(consumerTag));
          await inflight.settle(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
          await acksCounted(count, counted);
          await quietly(() => channel.close());
        },
      };
    },
    async close() {
      await Promise.all([probeCh.close(), publishCh.close()]);
    },
  };
  return router;
}

/**
 * Waits (bounded) until the broker counts one consumer fewer than `before` (this one's, counted
 * while it held deliveries). A quorum queue keeps a cancelled consumer with unsettled deliveries
 * and applies acks a few ms after the channel sent them; a channel closed before then has the
 * broker requeue what its handlers had processed and acked (measured, RabbitMQ 3.10: the last six
 * of forty), which the next consumer or the drain then processes again. A classic queue applies
 * them in order: the first question answers.
 */
async function acksCounted(
  count: () => Promise<number | undefined>,
  before: number | undefined,
): Promise<void> {
  if (before === undefined) return;
  for (const ms of ACK_WAITS_MS) {
    const now = await count();
    if (now === undefined || now < before) return;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** The waits between those questions (ms): about 0.6 s in all, then the channel closes anyway. */
const ACK_WAITS_MS = [0, 5, 10, 20, 40, 80, 160, 320] as const;
