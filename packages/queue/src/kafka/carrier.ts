import { GraylaneError, setBaggageMember } from '@graylane/core';
import { hasValue, type OutgoingMarker } from '../carrier/outgoing.js';
import { objectEditor, sameShape } from '../carrier/editors.js';
import type { HeaderEditor } from '../carrier/scrub.js';
import { readHeader } from '../carrier/table.js';
import { baggageText } from '../carrier/values.js';
import type { MessageLanes } from '../lanes.js';
import { assertLanes, assertServed } from '../routing/names.js';
import { BAGGAGE_HEADER } from '../limits.js';
import { countCarry } from '../metrics/stats.js';

/**
 * Record headers as kafkajs types them (its `IHeaders`, also the Confluent client's
 * KafkaJS-compatible API). Declared here, not imported: a project with only the Confluent client
 * (or none) type-checks `@graylane/queue/kafka` with `skipLibCheck: false`.
 */
export interface KafkaHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/**
 * What kafkajs hands `eachMessage` (the parts of its `EachMessagePayload` a handler reads), the
 * handler's payload when nothing else says what it is.
 */
export interface KafkaEachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: {
    readonly key: Buffer | null;
    readonly value: Buffer | null;
    readonly timestamp: string;
    readonly offset: string;
    readonly headers?: KafkaHeaders;
  };
}

/** One header of the Confluent client's native API: `{ name: value }`. */
export type KafkaHeaderEntry = Readonly<Record<string, string | Uint8Array>>;

/**
 * Record headers as the Kafka clients type them: kafkajs `IHeaders` (also the Confluent
 * client's KafkaJS-compatible API), or the Confluent native API's list of one-key entries.
 */
export type KafkaHeadersLike = KafkaHeaders | readonly KafkaHeaderEntry[];

/**
 * What a produced record becomes: the caller's record, its headers kafkajs `IHeaders` unless the
 * caller used the Confluent list form (kept as a list).
 */
export type GrayKafkaRecord<M> = M & { readonly headers?: KafkaHeaders };

/** A record, structurally: kafkajs `Message` / `KafkaMessage` or a Confluent message. */
export interface KafkaMessageLike {
  readonly headers?: KafkaHeadersLike | undefined;
}

/**
 * A copy of a record to produce, its headers carrying the current lane (and the `gray` baggage
 * member when OpenTelemetry is active). The caller's record and headers are never mutated; a
 * marker header the caller set is kept (never a second copy). Works with kafkajs `IHeaders` and
 * the Confluent client's header list. Outside a lane the record is returned as is.
 *
 * @example
 * ```ts
 * import { createMessageLanes } from '@graylane/queue';
 * import { grayKafkaMessage } from '@graylane/queue/kafka';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * await producer.send({ topic: 'orders', messages: [grayKafkaMessage(lanes, { value: '{"id":1}' })] });
 * ```
 */
export function grayKafkaMessage<M extends object>(
  lanes: MessageLanes,
  message: M,
): GrayKafkaRecord<M> {
  assertLanes(lanes, 'grayKafkaMessage');
  return kafkaMessageWith(lanes, message, lanes.outgoing());
}

/**
 * {@link grayKafkaMessage} for every record of a batch (one lane lookup for the batch).
 *
 * @example
 * ```ts
 * await producer.send({ topic: 'orders', messages: grayKafkaMessages(lanes, [{ value: 'a' }, { value: 'b' }]) });
 * ```
 */
export function grayKafkaMessages<M extends object>(
  lanes: MessageLanes,
  messages: readonly M[],
): GrayKafkaRecord<M>[] {
  assertLanes(lanes, 'grayKafkaMessages');
  if (!Array.isArray(messages))
    throw new GraylaneError('INVALID_OPTIONS', 'grayKafkaMessages: messages must be a list');
  const marker = lanes.outgoing();
  return messages.map((m) => kafkaMessageWith(lanes, m, marker));
}

// `object` rather than `KafkaMessageLike` as the constraint: an all-optional type is a "weak type",
// and TypeScript would reject `{ value: 'x' }` for sharing no property with it.
function kafkaMessageWith<M extends object>(
  lanes: MessageLanes,
  message: M,
  marker: OutgoingMarker | undefined,
): GrayKafkaRecord<M> {
  if (typeof message !== 'object' || message === null)
    throw new GraylaneError('INVALID_OPTIONS', 'grayKafkaMessage: a record must be an object');
  if (marker === undefined) return message;
  const headers = (message as KafkaMessageLike).headers;
  if (Array.isArray(headers)) {
    const list = headers as readonly KafkaHeaderEntry[];
    const next = withEntries(lanes, list, marker);
    return next === list ? message : ({ ...message, headers: next } as GrayKafkaRecord<M>);
  }
  const table = lanes.inject(headers as Readonly<Record<string, unknown>> | undefined, marker);
  return table === headers ? message : { ...message, headers: table as KafkaHeaders };
}

/** The Confluent list form: appends `{ header: value }` (and replaces a baggage entry). */
function withEntries(
  lanes: MessageLanes,
  list: readonly KafkaHeaderEntry[],
  marker: OutgoingMarker,
): readonly KafkaHeaderEntry[] {
  const isMarker = (k: string): boolean => k.toLowerCase() === lanes.header;
  // An entry holding undefined or null is no value: the marker replaces it.
  if (list.some((e) => Object.keys(e).some((k) => isMarker(k) && hasValue(e[k])))) {
    countCarry('skipped_caller');
    return list;
  }
  const out: KafkaHeaderEntry[] = [
    ...list.filter((e) => !Object.keys(e).some(isMarker)),
    { [lanes.header]: marker.value },
  ];
  if (marker.baggage && lanes.baggageKey !== false) {
    const isBaggage = (k: string): boolean => k.toLowerCase() === BAGGAGE_HEADER;
    const current = list.flatMap((e) =>
      Object.keys(e)
        .filter(isBaggage)
        .map((k) => e[k]),
    );
    const kept = out.filter((e) => !Object.keys(e).some(isBaggage));
    kept.push({
      [BAGGAGE_HEADER]: setBaggageMember(
        baggageText(current.length === 1 ? current[0] : current),
        lanes.baggageKey,
        marker.value,
      ),
    });
    countCarry('injected');
    return kept;
  }
  countCarry('injected');
  return out;
}

/** Options of {@link withGrayKafkaMessage}. */
export interface GrayKafkaConsumeOptions {
  /** The version this consumer's code is (one of the config's: else INVALID_OPTIONS); other versions count as lane fallbacks. */
  readonly served?: string;
}

/**
 * Wraps a kafkajs `eachMessage` handler so each record runs inside its lane. Offsets, commits and
 * errors stay the handler's own.
 *
 * @example
 * ```ts
 * await consumer.run({
 *   eachMessage: withGrayKafkaMessage(lanes, async ({ message }) => {
 *     await handle(message); // getGrayVersion() is the producer's version
 *   }),
 * });
 * ```
 */
export function withGrayKafkaMessage<
  P extends { readonly message: KafkaMessageLike } = KafkaEachMessagePayload,
  R = unknown,
>(
  lanes: MessageLanes,
  eachMessage: (payload: P) => R,
  options: GrayKafkaConsumeOptions = {},
): (payload: P) => R {
  assertLanes(lanes, 'withGrayKafkaMessage', eachMessage);
  options ??= {}; // `null` from plain JS
  assertServed(options.served, lanes, 'withGrayKafkaMessage');
  return function grayKafkaMessage(payload) {
    return runInKafkaMessage(lanes, payload.message, () => eachMessage(payload), options);
  };
}

/**
 * Runs `fn` inside the lane of one consumed record — for `eachBatch` loops and the Confluent
 * client's native consumer. A marker that did not decide the record's version (refused or
 * untrusted in `open`/`signed` mode, any marker in `ignore` mode) is removed from
 * `message.headers` first — the `x-gray-id` header or the `gray` baggage member — so a handler
 * that forwards the record's headers carries the version decided here (GW-01). A record that is
 * not an object (`null` from plain JS) runs as one without headers.
 *
 * @example
 * ```ts
 * for (const message of batch.messages) {
 *   await runInKafkaMessage(lanes, message, () => handle(message));
 * }
 * ```
 */
export function runInKafkaMessage<R>(
  lanes: MessageLanes,
  message: KafkaMessageLike,
  fn: () => R,
  options: GrayKafkaConsumeOptions = {},
): R {
  assertLanes(lanes, 'runInKafkaMessage', fn);
  const headers = (message as KafkaMessageLike | null | undefined)?.headers;
  return lanes.runMessage((name) => readHeader(headers, name), kafkaEditor(headers), fn, options);
}

/**
 * Edits record headers in place: a kafkajs object (values written back as bytes where the
 * client delivered bytes) or the Confluent list of one-key entries.
 */
function kafkaEditor(headers: unknown): HeaderEditor | undefined {
  if (!Array.isArray(headers)) return objectEditor(headers, sameShape);
  const list = headers as Record<string, unknown>[];
  const remove = (name: string): unknown => {
    let previous: unknown;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i];
      if (typeof entry !== 'object' || entry === null) continue;
      for (const k of Object.keys(entry)) {
        if (k.toLowerCase() !== name) continue;
        previous = entry[k];
        delete entry[k];
      }
      if (Object.keys(entry).length === 0) list.splice(i, 1);
    }
    return previous;
  };
  return {
    remove,
    set(name, value) {
      const previous = remove(name);
      list.push({ [name]: sameShape(value, previous) });
    },
  };
}
