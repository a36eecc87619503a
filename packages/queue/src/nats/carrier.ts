import { GraylaneError, setBaggageMember } from '@graylane/core';
import type { OutgoingMarker } from '../carrier/outgoing.js';
import type { HeaderEditor } from '../carrier/scrub.js';
import type { MessageReader } from '../carrier/extract.js';
import { readHeader } from '../carrier/table.js';
import type { MessageLanes } from '../lanes.js';
import { assertLanes, assertServed } from '../routing/names.js';
import { BAGGAGE_HEADER } from '../limits.js';
import { countCarry } from '../metrics/stats.js';
import { defaultNatsHeaders, type NatsHeadersFactory, type NatsHeadersLike } from './headers.js';
import type { NatsJsMsg } from './types.js';

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
 * The arguments a NATS client hands a per-message handler: `[msg]` (JetStream `consume`, an
 * iterator loop) or `[err, msg]` (a core subscription's callback).
 */
export type NatsHandlerArgs = [msg: NatsMessageLike] | [err: Error | null, msg: NatsMessageLike];

/**
 * Wraps a per-message NATS handler so each message runs inside its lane. Acks, replies and errors
 * stay the handler's own. Two shapes, as the clients call them:
 *
 * - `(msg) => …` — JetStream `consume({ callback })`, a `for await (const m of sub)` loop;
 * - `(err, msg) => …` — a core subscription's `subscribe(subject, { callback })` (v3 and v2).
 *   The wrapper passes both arguments through; when `err` is set (a timeout, a permissions or
 *   no-responders error) there is no message to bind: the handler runs outside any lane.
 *
 * Typed by the arguments the client hands over (inferred where the callback is written inline;
 * annotate them in a handler written apart: `(err: Error | null, m: Msg) => …`), so it fits
 * `@nats-io/*` and `nats` v2 alike. Never
 * throws on its own (a missing message or unreadable headers bind nothing / the default lane);
 * what the handler throws is the handler's (a core callback that throws closes the connection in
 * the NATS clients: catch inside it).
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
 * nc.subscribe('svc.echo', {
 *   queue: 'workers',
 *   callback: withGrayNatsMessage(lanes, (err, m) => {
 *     if (!err) m.respond(getGrayVersion());
 *   }),
 * });
 * ```
 */
export function withGrayNatsMessage<A extends NatsHandlerArgs = [msg: NatsJsMsg], R = void>(
  lanes: MessageLanes,
  handler: (...args: A) => R,
  options: GrayNatsConsumeOptions = {},
): (...args: A) => R {
  assertLanes(lanes, 'withGrayNatsMessage', handler);
  options ??= {}; // `null` from plain JS
  assertServed(options.served, lanes, 'withGrayNatsMessage');
  const call = handler as (...args: unknown[]) => R;
  return function grayNatsMessage(this: unknown, ...args: A): R {
    const core = isCoreCallback(args);
    const msg = core ? args[1] : args[0];
    // An error delivery (`err` set, `msg` an empty stand-in) or no message at all: nothing to bind.
    if ((core && args[0] != null) || typeof msg !== 'object' || msg === null) {
      return call.apply(this, args);
    }
    const headers = headersOf(msg);
    return lanes.runMessage(
      natsReader(headers),
      headers === undefined ? undefined : natsEditor(headers),
      () => call.apply(this, args),
      options,
    );
  };
}

/**
 * True for a core subscription's `(err, msg)` call: two arguments or more, the first `null`,
 * `undefined` or an `Error`. A message handed over first (JetStream `consume`, an iterator loop,
 * `Array#forEach`'s `(item, index)`) is never an `Error`.
 */
function isCoreCallback(args: readonly unknown[]): boolean {
  return args.length >= 2 && (args[0] == null || args[0] instanceof Error);
}

/**
 * @internal Reads a header of a NATS message as its consumer judges it (and a router routes on
 * it). `baggage` repeated is one list (W3C: as if joined in one header): every value of every
 * spelling, joined with `,` — so past 8192 bytes together it is refused as `too_long`, as one
 * header that long is, and the `gray` member is removed from it wherever it sits (MQ-45). One
 * linear pass over headers the client has decoded already, bounded by the server's `max_payload`.
 */
export function natsReader(headers: NatsHeadersLike | undefined): MessageReader {
  return (name) => {
    const value = readHeader(headers, name);
    // The shared reader hands every value of every `baggage` spelling over; only text joins as
    // one header would, anything else is judged as it comes.
    return name === BAGGAGE_HEADER &&
      Array.isArray(value) &&
      value.every((v) => typeof v === 'string')
      ? value.join(',')
      : value;
  };
}

/** The message's headers, or undefined (absent, not an object, or a getter that throws). */
function headersOf(msg: object): NatsHeadersLike | undefined {
  try {
    const headers = (msg as NatsMessageLike).headers;
    return typeof headers === 'object' && headers !== null ? headers : undefined;
  } catch {
    return undefined;
  }
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
