import { GraylaneError } from '@graylane/core';
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { createInFlight } from '../routing/inflight.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { PROMISE, assertClients } from '../routing/clients.js';
import { assertNatsHeaders } from '../routing/encodable.js';
import { assertLane, assertRetired, assertRouterOptions, laneName } from '../routing/names.js';
import { routeMessage } from '../routing/route.js';
import { natsHeadersWith, natsReader, withGrayNatsMessage } from './carrier.js';
import { checkNatsDrain, startNatsDrain } from './drain.js';
import {
  JS_CONSUMER_NOT_FOUND,
  JS_STREAM_NOT_FOUND,
  jsApiCode,
  natsFailure,
  pushDurable,
} from './errors.js';
import {
  durableCovers,
  laneFilterRefusal,
  laneFilterTarget,
  type LaneFilterTarget,
} from './filter.js';
import { defaultNatsHeaders, type NatsHeadersFactory, type NatsHeadersLike } from './headers.js';
import { assertAssertedRetention, checkLaneStream, streamMissing } from './retention.js';
import { setupNatsLanes } from './setup.js';
import { createLaneWatch } from './watch.js';
import { createSizeGuard } from './size.js';
import type {
  NatsConsumeOptionsOf,
  NatsConsumerInfoLike,
  NatsConsumerLike,
  NatsConsumerMessagesLike,
  NatsConsumerMessagesOf,
  NatsJetStreamLike,
  NatsJetStreamManagerLike,
  NatsJsMsg,
  NatsMsgOf,
  NatsPubAckOf,
  NatsPulledMsgLike,
} from './types.js';

/**
 * Options of {@link createNatsLanes}. `Js` is the JetStream client's type: the router's messages,
 * acks and consume options are that client's own.
 */
export interface NatsLanesOptions<Js extends NatsJetStreamLike = NatsJetStreamLike> {
  readonly lanes: MessageLanes;
  readonly js: Js;
  readonly jsm: NatsJetStreamManagerLike;
  /**
   * The JetStream stream: work-queue retention (an ack removes the message), as `setup()` creates
   * it. `setup()` and `consume()` refuse a stream with other retention (`INVALID_OPTIONS`).
   */
  readonly stream: string;
  /**
   * The app's word that `stream` is a work-queue stream (as `setup()` creates it): `consume()`
   * then does not read the stream (JetStream API `STREAM.INFO`), for consumers whose NATS user
   * may not. Nothing checks it: on a stream that keeps acked messages the drain would run them
   * again. Default: `consume()` reads the retention, and refuses any other.
   */
  readonly streamRetention?: 'workqueue';
  /** The base subject. Lane `beta` publishes on `<subject>.lane.beta`. */
  readonly subject: string;
  /** Durable consumer name of the default lane; lane `beta` uses `<durable>_lane_beta`. Default: the stream name. */
  readonly durable?: string;
  /** Header factory. Default: `headers` of `@nats-io/transport-node`, looked up on first use. */
  readonly headers?: NatsHeadersFactory;
  readonly liveness?: LivenessOptions;
  readonly drainIntervalMs?: number;
  /** Messages moved per lane per batch (a tick moves batches until the lane is empty). Default 500. */
  readonly drainBatch?: number;
  /** How long a consumer's `close()` waits for handlers still running. Default 30 000 ms. */
  readonly closeTimeoutMs?: number;
  /**
   * Versions removed from the config whose lane destinations may still hold messages: the
   * default lane's consumers keep draining them. (A version removed while they run is
   * remembered without this.)
   */
  readonly retiredLanes?: readonly string[];
  /**
   * Called (on a default-lane consumer) with each drain batch that failed and each message its
   * drain could not move, with the lane; both are counted in `queueStats().drainErrors`. The
   * drain goes on either way. Default: none.
   */
  readonly onDrainError?: (err: unknown, lane: string) => void;
}

/** A consumer started by {@link NatsLanes.consume}. */
export interface NatsLaneConsumer<Ms = NatsConsumerMessagesLike> {
  /** What the client's `consume()` returned (its `ConsumerMessages`). */
  readonly messages: Ms;
  readonly durable: string;
  /**
   * Stops the drain loop and the pulls, then waits for the handlers still running (those that
   * returned a promise) for at most `closeTimeoutMs`, so their acks go out before the caller
   * closes the connection.
   */
  close(): Promise<void>;
}

/** Options of {@link NatsLanes.publish}. */
export interface NatsPublishOptions {
  readonly headers?: NatsHeadersLike;
  readonly msgID?: string;
}

/** Lane-aware publishing and consuming on one JetStream stream, through a `Js` client. */
export interface NatsLanes<Js extends NatsJetStreamLike = NatsJetStreamLike> {
  /**
   * Creates the work-queue stream (or adds the lane subjects to it) and one durable pull consumer
   * per version, if missing. Refuses an existing stream whose retention is not `workqueue`. A
   * NATS user without the permissions this takes, or an account without JetStream, gets
   * `INVALID_OPTIONS` naming what to grant; a timeout rejects as the client's error. Either way
   * nothing is created or changed on a guess that the stream is missing.
   */
  setup(): Promise<void>;
  subjectFor(lane: string): string;
  durableFor(lane: string): string;
  publish(data: Uint8Array | string, options?: NatsPublishOptions): Promise<NatsPubAckOf<Js>>;
  /**
   * Consumes as `lane`; a default-lane consumer also drains lanes without live consumers. The
   * handler may return a promise (an async handler): `close()` then waits for it. Rejects with
   * `INVALID_OPTIONS`, before pulling anything, when the stream or the lane's durable is missing,
   * or the NATS user may not do what this consumer does (a default-lane one: what its drain does).
   */
  consume(
    lane: string,
    handler: (msg: NatsMsgOf<Js>) => unknown,
    options?: NatsConsumeOptionsOf<Js>,
  ): Promise<NatsLaneConsumer<NatsConsumerMessagesOf<Js>>>;
  readonly liveness: Liveness;
}

/** The clients a NATS router calls, and objects passed for them by mistake (MQ-24). */
const CONNECTION = { name: 'a NatsConnection', methods: ['subscribe', 'request'] };
const NATS_CLIENTS = [
  {
    field: 'js',
    what: 'a JetStream client (jetstream(nc) of @nats-io/jetstream)',
    methods: ['publish', 'consumers.get'],
    mistakes: [CONNECTION, { name: 'a JetStreamManager', methods: ['streams.add'] }],
  },
  {
    field: 'jsm',
    what: 'a JetStreamManager (await jetstreamManager(nc) of @nats-io/jetstream)',
    methods: [
      'streams.info',
      'streams.add',
      'streams.update',
      'streams.getMessage',
      'streams.deleteMessage',
      'consumers.info',
      'consumers.add',
    ],
    mistakes: [
      CONNECTION,
      { name: 'a JetStream client', methods: ['publish', 'consumers.get'] },
      PROMISE,
    ],
  },
] as const;

/**
 * A pull request lives this long; a consumer killed without closing stops counting as a waiting
 * pull within it, which bounds how long its lane still looks alive (see docs/queues.md).
 */
const DEFAULT_PULL_EXPIRES_MS = 5_000;

/**
 * Lanes on NATS JetStream. One work-queue stream holds the base subject and one subject per
 * lane; each version has a durable pull consumer. A lane is alive while its consumer has waiting
 * pull requests (`consumers.info().num_waiting`: a consuming client keeps one open and renews it;
 * the server drops a disconnected client's requests) or, when the client is too busy to have one
 * outstanding, while its delivered sequence advances between probes. Producers route a lane's messages to its subject
 * only while it is alive; default-lane consumers move what a dead lane left on its subject back
 * to the base subject: pulled through the lane's own durable (the server hands each message to
 * the drain or to a lane consumer that comes back, never to both) → published with a
 * `Nats-Msg-Id` (a repeated move is de-duplicated) → acked. What the dead client was delivered
 * and never acked is pulled the same way once the durable hands it out again (its `ack_wait`, or
 * the delay it was nak'd with, ran out). `setup()` and `consume()` refuse a lane durable whose
 * filter is not its lane's subject.
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * import { jetstream, jetstreamManager } from '@nats-io/jetstream';
 * import { createMessageLanes } from '@graylane/queue';
 * import { createNatsLanes } from '@graylane/queue/nats';
 *
 * const nc = await connect({ servers: '127.0.0.1:4222' });
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * const orders = createNatsLanes({ lanes, js: jetstream(nc), jsm: await jetstreamManager(nc), stream: 'ORDERS', subject: 'orders' });
 * await orders.setup();
 * await orders.consume('stable', (m) => { handle(m); m.ack(); });
 * await orders.publish(JSON.stringify({ id: 1 }));
 * ```
 */
export function createNatsLanes<Js extends NatsJetStreamLike>(
  options: NatsLanesOptions<Js>,
): NatsLanes<Js> {
  assertRouterOptions(options, 'createNatsLanes', ['stream', 'subject'], ['js', 'jsm']);
  assertClients(options, 'createNatsLanes', NATS_CLIENTS);
  const { lanes, js, jsm, stream, subject } = options;
  assertRetired(options.retiredLanes, 'createNatsLanes');
  assertAssertedRetention(options.streamRetention, 'createNatsLanes');
  const durable = options.durable ?? stream;
  const create = options.headers ?? defaultNatsHeaders;
  const isDefault = (lane: string): boolean => lane === lanes.config().default;
  const subjectFor = (lane: string): string =>
    isDefault(lane) ? subject : laneName(subject, lane);
  const durableFor = (lane: string): string =>
    isDefault(lane) ? durable : laneName(durable, lane, '_');

  // A consumer is alive while it has a pull request waiting — or, when busy (every pull filled),
  // while deliveries advance between two probes. Only deliveries count: the ack floor also moves
  // when a drain deletes a dead lane's messages, which must not make that lane look alive. This
  // router's own drain pulls count as neither (the watch subtracts them), and while one of its
  // drains is moving the lane, deliveries to someone else do not stop it: the drain tells another
  // default-lane consumer draining too from the lane's consumer back itself (drain.ts).
  // "Consumer not found" is dead; any other failure (a permission, a timeout) is not an answer: the
  // lane is then `unknown`, which producers treat as dead and the drain leaves alone (MQ-31).
  const watch = createLaneWatch();
  const failed = new Set<string>();
  const liveness = createLiveness(async (lane) => {
    const info = await jsm.consumers.info(stream, durableFor(lane)).catch((err: unknown) => {
      if (jsApiCode(err) !== JS_CONSUMER_NOT_FOUND) {
        failed.add(lane);
        throw err;
      }
      return undefined;
    });
    failed.delete(lane);
    const look = watch.record(lane, info);
    // A durable that does not deliver the lane's subject serves none of what is routed there,
    // whoever pulls it (MQ-43): the drain reports it.
    if (info === undefined || !durableCovers(info, subjectFor(lane))) return false;
    return watch.waiting(look) > 0 || (look.moved > 0 && !watch.inPass(lane));
  }, options.liveness);

  const size = createSizeGuard({ js, jsm, stream });

  const router: NatsLanes<Js> = {
    liveness,
    subjectFor,
    durableFor,
    setup: async () => {
      await setupNatsLanes({
        jsm,
        stream,
        versions: lanes.config().versions,
        subjectFor,
        durableFor,
      });
      size.forget();
    },
    async publish(data, publishOptions = {}) {
      assertNatsHeaders(publishOptions.headers, 'createNatsLanes().publish');
      const headers = natsHeadersWith(lanes, publishOptions.headers, lanes.outgoing(), create);
      const lane = await routeMessage(lanes, natsReader(headers), liveness);
      if (lane !== undefined) await size.check(data, headers, subjectFor(lane));
      const ack = js.publish(lane === undefined ? subject : subjectFor(lane), data, {
        ...(headers !== undefined ? { headers } : {}),
        ...(publishOptions.msgID !== undefined ? { msgID: publishOptions.msgID } : {}),
      });
      return ack as Promise<NatsPubAckOf<Js>>;
    },
    async consume(lane, handler, consumeOptions) {
      assertLane(lane, lanes.config().versions, 'createNatsLanes().consume');
      const name = durableFor(lane);
      const where = 'createNatsLanes().consume';
      // A consumer made without setup() (or before this check) must not drain or feed a drain that
      // would run acked messages again.
      await checkLaneStream(jsm, stream, where, options.streamRetention);
      const consumer = await getConsumer(js, jsm, stream, name, where);
      const target = laneFilterTarget(router, stream, lane, lanes.config().versions);
      await checkLaneFilter(consumer, target, where);
      if (isDefault(lane)) await checkNatsDrain(router, options);
      const inflight = createInFlight();
      const run = handler as (msg: NatsJsMsg) => unknown;
      const wrapped = withGrayNatsMessage(lanes, run, { served: lane });
      const pull = {
        expires: DEFAULT_PULL_EXPIRES_MS,
        ...(consumeOptions as object | undefined),
        callback: (m: NatsJsMsg) => void inflight.track(wrapped(m)),
      };
      const messages = await consumer.consume(pull);
      const unknown = (l: string): boolean => failed.has(l);
      const runHere = (m: NatsPulledMsgLike) =>
        Promise.resolve(inflight.track(wrapped(m as never)));
      const drain = isDefault(lane)
        ? startNatsDrain(router, options, create, unknown, watch, runHere)
        : undefined;
      return {
        messages: messages as NatsConsumerMessagesOf<Js>,
        durable: name,
        async close() {
          await drain?.stop();
          await messages.close();
          await inflight.settle(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
        },
      };
    },
  };
  return router;
}

/** The lane's durable consumer; missing, a push consumer, or not to be asked about, says what to do. */
async function getConsumer(
  js: NatsJetStreamLike,
  jsm: NatsJetStreamManagerLike,
  stream: string,
  name: string,
  where: string,
) {
  try {
    return await js.consumers.get(stream, name);
  } catch (err) {
    const push = await pushDurable(jsm, stream, name, where, err);
    if (push !== undefined) throw push;
    const code = jsApiCode(err);
    if (code === JS_STREAM_NOT_FOUND) throw streamMissing(stream, where, err);
    if (code === JS_CONSUMER_NOT_FOUND) {
      throw new GraylaneError(
        'INVALID_OPTIONS',
        `${where}: stream ${JSON.stringify(stream)} has no durable consumer ${JSON.stringify(name)}: ` +
          'run setup() first (it adds one per version)',
        { cause: err },
      );
    }
    throw natsFailure(
      err,
      where,
      "consume() reads its lane's durable consumer (JetStream API CONSUMER.INFO) and pulls from it " +
        `(CONSUMER.MSG.NEXT); its handler acks on "$JS.ACK.${stream}.>"`,
    );
  }
}

/**
 * Refuses a lane durable whose filter is not its lane's (MQ-43), read from what the client cached
 * when it got the consumer (`info(true)` of v3 and `nats` v2: no call). A consumer without it is
 * not checked.
 */
async function checkLaneFilter(
  consumer: NatsConsumerLike,
  target: LaneFilterTarget,
  where: string,
): Promise<void> {
  const cached = (consumer as { info?: (cached?: boolean) => Promise<unknown> }).info;
  if (typeof cached !== 'function') return;
  const read = Promise.resolve().then(() => cached.call(consumer, true));
  const info = (await read.catch(() => undefined)) as NatsConsumerInfoLike | undefined;
  if (info?.config === undefined) return;
  const refusal = laneFilterRefusal(info, target, where);
  if (refusal !== undefined) throw refusal;
}
