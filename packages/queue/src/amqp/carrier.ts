import type { ConsumeMessage, Options } from 'amqplib';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import { objectEditor } from '../carrier/editors.js';
import { readHeader } from '../carrier/table.js';
import type { MessageLanes } from '../lanes.js';
import { assertLanes, assertServed } from '../routing/names.js';

/**
 * Publish options carrying the current lane in AMQP message `headers` (and the `gray` baggage
 * member when OpenTelemetry is active). A new object: the caller's options and headers are never
 * mutated; a marker header the caller set is kept (never a second copy). Outside a lane the
 * caller's options are returned as they are.
 *
 * @example
 * ```ts
 * import { createMessageLanes } from '@graylane/queue';
 * import { grayPublishOptions } from '@graylane/queue/amqp';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * channel.sendToQueue('orders', body, grayPublishOptions(lanes, { persistent: true }));
 * ```
 */
export function grayPublishOptions(
  lanes: MessageLanes,
  options?: Options.Publish,
): Options.Publish {
  assertLanes(lanes, 'grayPublishOptions');
  return publishOptionsWith(lanes, options, lanes.outgoing());
}

/** @internal {@link grayPublishOptions} for a marker already computed (routing needs it first). */
export function publishOptionsWith(
  lanes: MessageLanes,
  options: Options.Publish | undefined,
  marker: OutgoingMarker | undefined,
): Options.Publish {
  if (marker === undefined) return options ?? {};
  const headers = lanes.inject(options?.headers as Record<string, unknown> | undefined, marker);
  if (headers === options?.headers) return options ?? {};
  return { ...options, headers };
}

/** Options of {@link withGrayMessage}. */
export interface GrayConsumeOptions {
  /** The version this consumer's code is (one of the config's: else INVALID_OPTIONS); other versions count as lane fallbacks. */
  readonly served?: string;
}

/**
 * Wraps an amqplib `consume` callback so each delivery runs inside its lane: `getGrayVersion()`,
 * `grayBranch` and outbound calls see the producer's version. Acks, nacks and errors are the
 * callback's own: the wrapper returns what it returns and throws what it throws. A `null`
 * delivery (the broker cancelled the consumer) is passed through unbound.
 *
 * A marker that did not decide the message's version (refused or untrusted in `open`/`signed`
 * mode, any marker in `ignore` mode) is removed from `msg.properties.headers` before the callback
 * runs — the `x-gray-id` header or the `gray` baggage member — so a handler that republishes the
 * headers it received forwards the version decided here, never the refused one (GW-01).
 *
 * @example
 * ```ts
 * await channel.consume('orders', withGrayMessage(lanes, async (msg) => {
 *   if (!msg) return;
 *   await handle(msg); // getGrayVersion() is the producer's version
 *   channel.ack(msg);
 * }));
 * ```
 */
export function withGrayMessage<R>(
  lanes: MessageLanes,
  onMessage: (msg: ConsumeMessage | null) => R,
  options: GrayConsumeOptions = {},
): (msg: ConsumeMessage | null) => R {
  assertLanes(lanes, 'withGrayMessage', onMessage);
  options ??= {}; // `null` from plain JS
  assertServed(options.served, lanes, 'withGrayMessage');
  return function grayAmqpMessage(msg) {
    if (msg == null) return onMessage(msg);
    const edit = objectEditor((msg as { properties?: { headers?: unknown } }).properties?.headers);
    return lanes.runMessage(amqpReader(msg), edit, () => onMessage(msg), options);
  };
}

/** @internal Reads headers of a delivery, whatever shape a broker or test gives. */
export function amqpReader(msg: { properties?: { headers?: unknown } }): (name: string) => unknown {
  return (name) => readHeader(msg.properties?.headers, name);
}
