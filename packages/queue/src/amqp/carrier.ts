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
    const headers = (msg as { properties?: { headers?: unknown } }).properties?.headers;
    ownWireKeys(headers);
    const edit = objectEditor(headers);
    return lanes.runMessage(amqpReader(msg), edit, () => onMessage(msg), options);
  };
}

/**
 * amqplib decodes a field table by assignment (`fields[key] = value`), so a header named
 * `__proto__` holding a table becomes the *prototype* of `properties.headers`: its keys then read
 * as headers (`headers['x-gray-id']`) and travel on when the table is published again (amqplib
 * encodes with `for…in`), though no consumer judged them (GW-01). The table is put back as it was
 * on the wire: an own `__proto__` header holding that table. A frozen table is left as it is.
 */
function ownWireKeys(headers: unknown): void {
  if (typeof headers !== 'object' || headers === null) return;
  try {
    const proto = Object.getPrototypeOf(headers) as unknown;
    if (proto === Object.prototype || proto === null || !decoded(proto)) return;
    Object.setPrototypeOf(headers, Object.prototype);
    Object.defineProperty(headers, '__proto__', {
      value: proto,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } catch {
    // A table that cannot be edited stays as it is; the decision stands (I1).
  }
}

/**
 * A value amqplib decodes a field into (a table, an array, bytes, or a chain of such tables),
 * never a class's own prototype (a hand-made message whose headers are a class instance).
 */
function decoded(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const ctor = (value as { constructor?: unknown }).constructor;
  return !(typeof ctor === 'function' && (ctor as { prototype?: unknown }).prototype === value);
}

/** @internal Reads headers of a delivery, whatever shape a broker or test gives. */
export function amqpReader(msg: { properties?: { headers?: unknown } }): (name: string) => unknown {
  return (name) => readHeader(msg.properties?.headers, name);
}
