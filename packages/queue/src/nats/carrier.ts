import { setBaggageMember } from '@graylane/core';
import type { JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import { readHeader } from '../carrier/table.js';
import type { MessageLanes } from '../lanes.js';
import { BAGGAGE_HEADER } from '../limits.js';
import { countCarry } from '../metrics/stats.js';

/** Creates an empty NATS header set (`headers()` of `@nats-io/transport-node` or `nats` v2). */
export type NatsHeadersFactory = () => MsgHdrs;

/**
 * NATS message headers carrying the current lane (and the `gray` baggage member when
 * OpenTelemetry is active). A new header set: the caller's is never mutated, and a marker header
 * the caller set is kept (never a second copy). Outside a lane the caller's headers are returned.
 *
 * @example
 * ```ts
 * import { createMessageLanes } from '@graylane/queue';
 * import { grayNatsHeaders } from '@graylane/queue/nats';
 *
 * const lanes = createMessageLanes({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * await js.publish('orders', payload, { headers: grayNatsHeaders(lanes) });
 * ```
 */
export function grayNatsHeaders(
  lanes: MessageLanes,
  existing?: MsgHdrs,
  create: NatsHeadersFactory = natsHeaders,
): MsgHdrs | undefined {
  return natsHeadersWith(lanes, existing, lanes.outgoing(), create);
}

/** @internal {@link grayNatsHeaders} for a marker already computed (routing needs it first). */
export function natsHeadersWith(
  lanes: MessageLanes,
  existing: MsgHdrs | undefined,
  marker: OutgoingMarker | undefined,
  create: NatsHeadersFactory,
): MsgHdrs | undefined {
  if (marker === undefined) return existing;
  const names = existing === undefined ? [] : existing.keys();
  if (names.some((k) => k.toLowerCase() === lanes.header)) {
    countCarry('skipped_caller');
    return existing;
  }
  const out = copyHeaders(existing, create, () => false);
  out.set(lanes.header, marker.value);
  if (marker.baggage && lanes.baggageKey !== false) {
    const name = names.find((k) => k.toLowerCase() === BAGGAGE_HEADER);
    const current = name === undefined ? undefined : existing?.values(name);
    if (name !== undefined) out.delete(name);
    out.set(BAGGAGE_HEADER, setBaggageMember(current, lanes.baggageKey, marker.value));
  }
  countCarry('injected');
  return out;
}

/** @internal A copy of `source` (every value of every name) without the names `skip` selects. */
export function copyHeaders(
  source: MsgHdrs | undefined,
  create: NatsHeadersFactory,
  skip: (name: string) => boolean,
): MsgHdrs {
  const out = create();
  if (source === undefined) return out;
  for (const [name, values] of source) {
    if (skip(name)) continue;
    for (const v of values) out.append(name, v);
  }
  return out;
}

/** Options of {@link withGrayNatsMessage}. */
export interface GrayNatsConsumeOptions {
  /** The version this consumer's code is; other versions count as lane fallbacks. */
  readonly served?: string;
}

/**
 * Wraps a JetStream `consume({ callback })` (or any per-message) handler so each message runs
 * inside its lane. Acks and errors stay the handler's own.
 *
 * @example
 * ```ts
 * await consumer.consume({
 *   callback: withGrayNatsMessage(lanes, (m) => {
 *     handle(m); // getGrayVersion() is the producer's version
 *     m.ack();
 *   }),
 * });
 * ```
 */
export function withGrayNatsMessage<R>(
  lanes: MessageLanes,
  handler: (msg: JsMsg) => R,
  options: GrayNatsConsumeOptions = {},
): (msg: JsMsg) => R {
  return function grayNatsMessage(msg) {
    return lanes.run(
      (name) => readHeader(msg.headers, name),
      () => handler(msg),
      options,
    );
  };
}
