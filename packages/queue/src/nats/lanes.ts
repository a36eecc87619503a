import type {
  ConsumeOptions,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  PubAck,
} from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../limits.js';
import type { MessageLanes } from '../lanes.js';
import { createInFlight } from '../routing/inflight.js';
import { createLiveness, type Liveness, type LivenessOptions } from '../routing/liveness.js';
import { PROMISE, assertClients } from '../routing/clients.js';
import { assertNatsHeaders } from '../routing/encodable.js';
import { assertLane, assertRetired, assertRouterOptions, laneName } from '../routing/names.js';
import { readHeader } from '../carrier/table.js';
import { routeMessage } from '../routing/route.js';
import { natsHeadersWith, withGrayNatsMessage } from './carrier.js';
import { startNatsDrain } from './drain.js';
import { defaultNatsHeaders, type NatsHeadersFactory } from './headers.js';
import { LANE_RETENTION, assertLaneRetention } from './retention.js';

/** Options of {@link createNatsLanes}. */
export interface NatsLanesOptions {
  readonly lanes: MessageLanes;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /**
   * The JetStream stream: work-queue retention (an ack removes the message), as `setup()` creates
   * it. `setup()` and `consume()` refuse a stream with other retention (`INVALID_OPTIONS`).
   */
  readonly stream: string;
  /** The base subject. Lane `beta` publishes on `<subject>.lane.beta`. */
  readonly subject: string;
  /** Durable consumer name of the default lane; lane `beta` uses `<durable>_lane_beta`. Default: the stream name. */
  readonly durable?: string;
  /** Header factory. Default: `headers` of `@nats-io/transport-node`, looked up on first use. */
  readonly headers?: NatsHeadersFactory<MsgHdrs>;
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
}

/** A consumer started by {@link NatsLanes.consume}. */
export interface NatsLaneConsumer {
  readonly messages: ConsumerMessages;
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
  readonly headers?: MsgHdrs;
  readonly msgID?: string;
}

/** Lane-aware publishing and consuming on one JetStream stream. */
export interface NatsLanes {
  /**
   * Creates the work-queue stream (or adds the lane subjects to it) and one durable pull consumer
   * per version, if missing. Refuses an existing stream whose retention is not `workqueue`.
   */
  setup(): Promise<void>;
  subjectFor(lane: string): string;
  durableFor(lane: string): string;
  publish(data: Uint8Array | string, options?: NatsPublishOptions): Promise<PubAck>;
  /**
   * Consumes as `lane`; a default-lane consumer also drains lanes without live consumers. The
   * handler may return a promise (an async handler): `close()` then waits for it.
   */
  consume(
    lane: string,
    handler: (msg: JsMsg) => unknown,
    options?: ConsumeOptions,
  ): Promise<NatsLaneConsumer>;
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
 * to the base subject (direct get → publish with a `Nats-Msg-Id`, so a repeated move is
 * de-duplicated → delete), messages delivered to the dead client but never acked included.
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
export function createNatsLanes(options: NatsLanesOptions): NatsLanes {
  assertRouterOptions(options, 'createNatsLanes', ['stream', 'subject'], ['js', 'jsm']);
  assertClients(options, 'createNatsLanes', NATS_CLIENTS);
  const { lanes, js, jsm, stream, subject } = options;
  assertRetired(options.retiredLanes, 'createNatsLanes');
  const durable = options.durable ?? stream;
  const create = options.headers ?? (defaultNatsHeaders as NatsHeadersFactory<MsgHdrs>);
  const isDefault = (lane: string): boolean => lane === lanes.config().default;
  const subjectFor = (lane: string): string =>
    isDefault(lane) ? subject : laneName(subject, lane);
  const durableFor = (lane: string): string =>
    isDefault(lane) ? durable : laneName(durable, lane, '_');

  // A consumer is alive while it has a pull request waiting — or, when busy (every pull filled),
  // while deliveries advance between two probes. Only deliveries count: the ack floor also moves
  // when a drain deletes a dead lane's messages, which must not make that lane look alive.
  const progress = new Map<string, number>();
  const liveness = createLiveness(async (lane) => {
    const info = await jsm.consumers.info(stream, durableFor(lane));
    const mark = info.delivered.consumer_seq;
    const moved = progress.has(lane) && progress.get(lane) !== mark;
    progress.set(lane, mark);
    return info.num_waiting > 0 || moved;
  }, options.liveness);

  const router: NatsLanes = {
    liveness,
    subjectFor,
    durableFor,
    async setup() {
      const versions = lanes.config().versions;
      const subjects = versions.map(subjectFor);
      const info = await jsm.streams.info(stream).catch(() => undefined);
      if (info === undefined) {
        const config = { name: stream, subjects, retention: LANE_RETENTION };
        await jsm.streams.add(config as Parameters<typeof jsm.streams.add>[0]);
      } else {
        // Refused before anything changes: the app's stream stays as it was.
        assertLaneRetention(info.config.retention, stream, 'createNatsLanes().setup');
        // Add the lane subjects; the subjects the stream already has are the app's, and stay.
        const have = info.config.subjects ?? [];
        const missing = subjects.filter((subj) => !have.includes(subj));
        if (missing.length > 0)
          await jsm.streams.update(stream, { subjects: [...have, ...missing] });
      }
      for (const v of versions) {
        await jsm.consumers.add(stream, {
          durable_name: durableFor(v),
          filter_subject: subjectFor(v),
          ack_policy: 'explicit',
        } as Parameters<typeof jsm.consumers.add>[1]);
      }
    },
    async publish(data, publishOptions = {}) {
      assertNatsHeaders(publishOptions.headers, 'createNatsLanes().publish');
      const headers = natsHeadersWith(lanes, publishOptions.headers, lanes.outgoing(), create);
      const lane = await routeMessage(lanes, (n) => readHeader(headers, n), liveness);
      return js.publish(lane === undefined ? subject : subjectFor(lane), data, {
        ...(headers !== undefined ? { headers } : {}),
        ...(publishOptions.msgID !== undefined ? { msgID: publishOptions.msgID } : {}),
      });
    },
    async consume(lane, handler, consumeOptions) {
      assertLane(lane, lanes.config().versions, 'createNatsLanes().consume');
      const name = durableFor(lane);
      // A consumer made without setup() (or before this check) must not drain or feed a drain that
      // would run acked messages again.
      const { config } = await jsm.streams.info(stream);
      assertLaneRetention(config.retention, stream, 'createNatsLanes().consume');
      const consumer = await js.consumers.get(stream, name);
      const inflight = createInFlight();
      const wrapped = withGrayNatsMessage(lanes, handler, { served: lane });
      const messages = await consumer.consume({
        expires: DEFAULT_PULL_EXPIRES_MS,
        ...consumeOptions,
        callback: (m: JsMsg) => void inflight.track(wrapped(m)),
      } as ConsumeOptions);
      const drain = isDefault(lane) ? startNatsDrain(router, options, create) : undefined;
      return {
        messages,
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
