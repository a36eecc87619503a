import { GraylaneError, setBaggageMember } from '@graylane/core';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import type { HeaderEditor } from '../carrier/scrub.js';
import { readHeader } from '../carrier/table.js';
import type { MessageLanes } from '../lanes.js';
import { assertLanes, assertServed } from '../routing/names.js';
import { BAGGAGE_HEADER } from '../limits.js';
import { countCarry } from '../metrics/stats.js';
import type { JsMsg } from '@nats-io/jetstream';
import { defaultNatsHeaders, type NatsHeadersFactory, type NatsHeadersLike } from './headers.js';

/**
 * NATS message headers carrying the current lane (and the `gray` baggage member when
 * OpenTelemetry is active): always a header set, ready for `{ headers }`. A new set when the
 * marker is added — the caller's is never mutated, and a marker header the caller set is kept
 * (never a second copy); the caller's set, or an empty one, otherwise. Works with
 * `@nats-io/transport-node` (v3) and `nats` v2: pass v2's `headers` as `create` (default: the
 * installed client's, looked up on first use).
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
export function grayNatsHeaders<H extends NatsHeadersLike = NatsHeadersLike>(
  lanes: MessageLanes,
  existing?: H,
  create?: NatsHeadersFactory<H>,
): H {
  assertLanes(lanes, 'grayNatsHeaders');
  if (existing != null && (typeof existing.keys !== 'function' || Array.isArray(existing)))
    throw new GraylaneError('INVALID_OPTIONS', 'grayNatsHeaders: existing must be NATS headers');
  existing ??= undefined; // `null` from plain JS: none
  const make = create ?? (defaultNatsHeaders as NatsHeadersFactory<H>);
  return natsHeadersWith(lanes, existing, lanes.outgoing(), make) ?? existing ?? make();
}

/** @internal {@link grayNatsHeaders} for a marker already computed (routing needs it first). */
export function natsHeadersWith<H extends NatsHeadersLike>(
  lanes: MessageLanes,
  existing: H | undefined,
  marker: OutgoingMarker | undefined,
  create: NatsHeadersFactory<H>,
): H | undefined {
  if (marker === undefined) return existing;
  const names = existing === undefined ? [] : existing.keys();
  if (names.some((k) => k.toLowerCase() === lanes.header)) {
    countCarry('skipped_caller');
    return existing;
  }
  const out = copyHeaders(existing, create, () => false);
  out.set(lanes.header, marker.value);
  if (marker.baggage && lanes.baggageKey !== false) {
    const spellings = names.filter((k) => k.toLowerCase() === BAGGAGE_HEADER);
    const current = spellings.flatMap((k) => existing?.values(k) ?? []);
    for (const k of spellings) out.delete(k);
    out.set(BAGGAGE_HEADER, setBaggageMember(current, lanes.baggageKey, marker.value));
  }
  countCarry('injected');
  return out;
}

/** @internal A copy of `source` (every value of every name) without the names `skip` selects. */
export function copyHeaders<H extends NatsHeadersLike>(
  source: NatsHeadersLike | undefined,
  create: NatsHeadersFactory<H>,
  skip: (name: string) => boolean,
): H {
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
  /** The version this consumer's code is (one of the config's: else INVALID_OPTIONS); other versions count as lane fallbacks. */
  readonly served?: string;
}

/** A NATS message, structurally: `JsMsg` / `Msg` of `@nats-io/*` (v3) or of `nats` v2. */
export interface NatsMessageLike {
  readonly headers?: NatsHeadersLike | undefined;
}

/**
 * Wraps a JetStream `consume({ callback })` (or any per-message) handler so each message runs
 * inside its lane. Acks and errors stay the handler's own. Typed by the message the client hands
 * over, so it fits `@nats-io/jetstream` and `nats` v2 consumers alike.
 *
 * A marker that did not decide the message's version (refused or untrusted in `open`/`signed`
 * mode, any marker in `ignore` mode) is removed from `msg.headers` before the handler runs — the
 * `x-gray-id` header or the `gray` baggage member — so a handler that republishes the headers it
 * received forwards the version decided here, never the refused one (GW-01).
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
export function withGrayNatsMessage<M extends NatsMessageLike = JsMsg, R = void>(
  lanes: MessageLanes,
  handler: (msg: M) => R,
  options: GrayNatsConsumeOptions = {},
): (msg: M) => R {
  assertLanes(lanes, 'withGrayNatsMessage', handler);
  options ??= {}; // `null` from plain JS
  assertServed(options.served, lanes, 'withGrayNatsMessage');
  return function grayNatsMessage(msg) {
    const headers = msg.headers;
    return lanes.runMessage(
      (name) => readHeader(headers, name),
      headers === undefined ? undefined : natsEditor(headers),
      () => handler(msg),
      options,
    );
  };
}

/** Edits a NATS header set in place: every spelling of a name (`MsgHdrs` keys keep their case). */
function natsEditor(headers: NatsHeadersLike): HeaderEditor {
  const remove = (name: string): void => {
    for (const k of headers.keys()) if (k.toLowerCase() === name) headers.delete(k);
  };
  return {
    remove,
    set(name, value) {
      remove(name);
      headers.set(name, value);
    },
  };
}
