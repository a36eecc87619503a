import type { NatsHeadersLike } from './headers.js';

// The NATS clients' types, declared here as graylane uses them rather than imported: a project
// with only `nats` v2 (or neither client) type-checks `@graylane/queue/nats` with
// `skipLibCheck: false`, and `createNatsLanes` still infers the installed client's own message,
// ack and options types from the `js` it is given. `JsMsg`, `JetStreamClient` and
// `JetStreamManager` of `@nats-io/jetstream` (v3) and of `nats` v2 satisfy these.

/** A JetStream message, structurally: `JsMsg` of `@nats-io/jetstream` (v3) or of `nats` v2. */
export interface NatsJsMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: NatsHeadersLike | undefined;
  readonly seq: number;
  readonly redelivered: boolean;
  ack(): void;
  nak(millis?: number): void;
  working(): void;
  term(reason?: string): void;
  json<T>(): T;
  string(): string;
}

/** What a pull consumer's `consume()` resolves to: `ConsumerMessages` (what graylane calls). */
export interface NatsConsumerMessagesLike {
  close(): Promise<void | Error>;
}

/**
 * A message the drain pulled from a lane's durable (`fetch()`), structurally: `JsMsg` of
 * `@nats-io/jetstream` (v3) or of `nats` v2.
 */
export interface NatsPulledMsgLike {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: NatsHeadersLike | undefined;
  readonly info: { readonly timestampNanos: number };
  ackAck(): Promise<boolean>;
  nak(millis?: number): void;
}

/** A JetStream pull consumer (`js.consumers.get(stream, durable)`), structurally. */
export interface NatsConsumerLike {
  consume(options?: { callback?: (msg: NatsJsMsg) => void }): Promise<NatsConsumerMessagesLike>;
  /** One pull request (v3 and v2 clients have it); the drain takes a dead lane's messages so. */
  fetch?(options: {
    max_messages: number;
    expires: number;
  }): Promise<AsyncIterable<NatsPulledMsgLike>>;
}

/** A JetStream client (`jetstream(nc)` of `@nats-io/jetstream`, `nc.jetstream()` of `nats` v2), structurally. */
export interface NatsJetStreamLike {
  publish(
    subject: string,
    payload?: Uint8Array | string,
    options?: { headers?: NatsHeadersLike; msgID?: string },
  ): Promise<unknown>;
  readonly consumers: {
    get(stream: string, name?: string): Promise<NatsConsumerLike>;
  };
}

/** A message read from a stream (`jsm.streams.getMessage`), structurally: `StoredMsg`. */
export interface NatsStoredMsgLike {
  readonly subject: string;
  readonly seq: number;
  readonly header: NatsHeadersLike;
  readonly data: Uint8Array;
  readonly timestamp: string;
}

/** A JetStream manager (`await jetstreamManager(nc)`, `await nc.jetstreamManager()`), structurally. */
export interface NatsJetStreamManagerLike {
  readonly streams: {
    info(stream: string): Promise<{
      readonly config: {
        readonly retention?: string;
        readonly subjects?: string[];
        readonly max_msg_size?: number;
      };
    }>;
    add(config: object): Promise<unknown>;
    update(stream: string, config: object): Promise<unknown>;
    getMessage(stream: string, query: { seq: number }): Promise<NatsStoredMsgLike | null>;
    deleteMessage(stream: string, seq: number, erase?: boolean): Promise<boolean>;
  };
  readonly consumers: {
    info(stream: string, durable: string): Promise<NatsConsumerInfoLike>;
    add(stream: string, config: object): Promise<unknown>;
  };
}

/** A durable consumer's state (`jsm.consumers.info`), structurally: the fields graylane reads. */
export interface NatsConsumerInfoLike {
  readonly delivered: {
    readonly consumer_seq: number;
    readonly stream_seq?: number;
    /** The server sends an RFC 3339 time; the clients type it as nanoseconds. */
    readonly last_active?: string | number;
  };
  readonly num_waiting: number;
  readonly num_pending?: number;
  readonly num_ack_pending?: number;
  /**
   * Messages the durable redelivered and nobody acked yet, including those it gave up on
   * (delivered `max_deliver` times): nats-server keeps their delivery count until they are acked
   * or removed.
   */
  readonly num_redelivered?: number;
  readonly config?: {
    readonly ack_wait?: number;
    readonly max_ack_pending?: number;
    readonly max_deliver?: number;
    /** Set on a push consumer only. */
    readonly deliver_subject?: string;
    /** The subject it delivers from (none: every subject of the stream). */
    readonly filter_subject?: string;
    /** The subjects it delivers from (nats-server 2.10+; instead of `filter_subject`). */
    readonly filter_subjects?: readonly string[];
  };
}

/** The pull consumer `Js` hands out. */
type ConsumerOf<Js> = Js extends {
  readonly consumers: { get(...args: never[]): Promise<infer C> };
}
  ? C
  : NatsConsumerLike;

/** The options of that consumer's `consume()` (the client's `ConsumeOptions`). */
export type NatsConsumeOptionsOf<Js> =
  ConsumerOf<Js> extends { consume(options?: infer O): unknown } ? NonNullable<O> : never;

/** The message `Js`'s consumers deliver (the client's `JsMsg`). */
export type NatsMsgOf<Js> =
  NatsConsumeOptionsOf<Js> extends { callback?: (msg: infer M) => unknown } ? M : NatsJsMsg;

/** What `Js`'s consumers' `consume()` resolves to (the client's `ConsumerMessages`). */
export type NatsConsumerMessagesOf<Js> =
  ConsumerOf<Js> extends { consume(...args: never[]): Promise<infer Ms> }
    ? Ms
    : NatsConsumerMessagesLike;

/** What `Js.publish` resolves to (the client's `PubAck`). */
export type NatsPubAckOf<Js> = Js extends { publish(...args: never[]): Promise<infer A> }
  ? A
  : unknown;
