import { GraylaneError } from '@graylane/core';
import { readHeader, sameName } from '../carrier/table.js';
import { judgedText } from '../carrier/values.js';
import { BAGGAGE_HEADER, JOB_MARKER_FIELD } from '../limits.js';
import type { MessageLanes } from '../lanes.js';

/**
 * A router routes a message by the marker it reads on the object passed to `publish()`/`add()`;
 * its consumer judges what the broker client encoded from that object. Where the client would
 * encode something else — add a marker graylane did not read, drop one it read, or rewrite one —
 * the router would send the message to one lane and its consumer would run it in another. Those
 * carriers are refused (`INVALID_OPTIONS`) before anything is routed; everything else is encoded
 * exactly as graylane reads it.
 *
 * Each check models its client's encoding (and its consumer client's decoding) of the carrier and
 * compares the text graylane judges in the value passed with the text it will judge in what the
 * consumer gets (`judgedText`): the same, or the call is refused. So a shape is judged by what
 * its client does with it, not by a list of shapes: a `Uint8Array` that is not a `Buffer` is bytes
 * to graylane, a field table to amqplib, `{"0":98,…}` to JSON and `98,101,…` to NATS (review 54 D1).
 */

/**
 * amqplib encodes a header table with `for…in` (inherited enumerable keys too), sends a `Map`
 * or other iterable as an empty table, and unwraps its typed values (`{ '!': 'string', value }`).
 * So the table must be a plain object, and the marker and `baggage` keys must hold plain values
 * it encodes as graylane reads them: it sends bytes only for a `Buffer`; any other object — a
 * `Uint8Array` that is not a `Buffer`, another typed array, a `DataView` — becomes a field table.
 */
export function assertAmqpHeaders(headers: unknown, lanes: MessageLanes, where: string): void {
  if (headers === undefined || headers === null) return;
  if (!isPlainObject(headers)) {
    refuse(
      where,
      'headers must be a plain object (amqplib sends a Map as an empty table and encodes inherited keys)',
    );
  }
  for (const key of Object.keys(headers)) {
    const marker = sameName(key, lanes.header);
    const baggage = sameName(key, BAGGAGE_HEADER);
    if (!marker && !baggage) continue;
    const value = headers[key];
    if (isTyped(value) || (Array.isArray(value) && value.some(isTyped))) {
      refuse(
        where,
        `headers[${JSON.stringify(key)}] is an amqplib typed value ({ '!': type, value }): pass the value itself`,
      );
    }
    const sent = amqpDelivered(value);
    if (
      (marker && !sameJudged(value, sent, false)) ||
      (baggage && !sameJudged(value, sent, true))
    ) {
      refuse(
        where,
        `headers[${JSON.stringify(key)}] holds ${describe(tabled(value))}, which amqplib sends as a field table, not as bytes (the consumer would read no marker there): pass a string or a Buffer (Buffer.from(value))`,
      );
    }
  }
}

/**
 * What an amqplib consumer gets for a header value amqplib encoded (codec.js `encodeFieldValue`),
 * as far as graylane reads it: a `Buffer` as bytes, a list item by item, any other object as a
 * field table (`TABLE`: no marker). Strings arrive as UTF-8 (`judgedText` reads them so).
 * Numbers, booleans and null read as no marker either way; what amqplib cannot encode (a bigint,
 * a function) fails the publish before anything is sent.
 */
function amqpDelivered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(amqpDelivered);
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) return TABLE;
  return value;
}

/** A field table as an amqplib consumer decodes it: an object graylane reads as no marker. */
const TABLE: object = Object.freeze({});

/** The value, or the first item of a list, amqplib sends as a field table. */
function tabled(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return (value as unknown[]).find((v) => amqpDelivered(v) === TABLE) ?? value;
}

/**
 * NATS clients encode the header set they are given (`MsgHdrs`); anything else is not sent as
 * headers at all. The router reads it as a header set, so it must be one. It sends each value as
 * a text line, `name: value` (`MsgHdrs.encode()`), which the consumer's client splits on CR LF,
 * trims, and refuses whole for a name NATS does not allow: a value set around the client's own
 * checks (`MsgHdrsImpl.fromRecord`, a list edited in place) could reach the consumer as another
 * marker, or as none. Every name is compared, since any of them may be the marker header.
 */
export function assertNatsHeaders(headers: unknown, where: string): void {
  if (headers === undefined) return;
  const h = headers as Record<string | symbol, unknown> | null;
  const ok =
    typeof h === 'object' &&
    h !== null &&
    !(h instanceof Map) &&
    ['keys', 'values', 'set', 'append', 'delete'].every((m) => typeof h[m] === 'function') &&
    typeof h[Symbol.iterator] === 'function';
  if (!ok) refuse(where, 'headers must be a NATS header set (headers() of the NATS client)');
  let problem: string | undefined;
  try {
    problem = natsProblem(headers as Iterable<[unknown, unknown]>);
  } catch (err) {
    throw new GraylaneError('INVALID_OPTIONS', `${where}: headers cannot be read`, { cause: err });
  }
  if (problem !== undefined) refuse(where, problem);
}

function natsProblem(headers: Iterable<[unknown, unknown]>): string | undefined {
  const names = new Set<string>();
  for (const [name] of headers) if (typeof name === 'string') names.add(name.toLowerCase());
  const delivered = natsDelivered(natsEncoded(headers));
  if (delivered !== undefined) for (const name of delivered.keys()) names.add(name.toLowerCase());
  for (const name of names) {
    const baggage = name === BAGGAGE_HEADER;
    const read = judgedText(readHeader(headers, name), baggage);
    const sent =
      delivered === undefined ? undefined : judgedText(readHeader(delivered, name), baggage);
    if (read === sent) continue;
    const what = (text: string | undefined): string =>
      text === undefined ? 'no marker' : JSON.stringify(text);
    const how =
      delivered === undefined
        ? 'the header set is not one its consumer can decode (a name NATS does not allow, a value holding CR or LF): it would read no header at all'
        : `its consumer would read ${what(sent)}`;
    return `headers[${JSON.stringify(name)}] reads as ${what(read)} but NATS sends each value as a trimmed text line: ${how}. Set header values with set() or append() of the NATS header set (text without CR or LF)`;
  }
  return undefined;
}

/** The header block the NATS client will send: `encode()` of the set, as the client calls it. */
function natsEncoded(headers: Iterable<[unknown, unknown]>): string {
  const encode = (headers as { encode?: unknown }).encode;
  if (typeof encode === 'function') {
    const bytes = (encode as () => unknown).call(headers);
    if (bytes instanceof Uint8Array) return new TextDecoder().decode(bytes);
  }
  // A header set without encode() is never sent itself: the router's copy (made with the
  // client's `headers()`) is. Rendered as MsgHdrs.toString() renders one.
  let text = 'NATS/1.0';
  for (const [name, values] of headers) {
    for (const v of Array.isArray(values) ? (values as unknown[]) : [values]) {
      text += `\r\n${String(name)}: ${String(v)}`;
    }
  }
  return `${text}\r\n\r\n`;
}

/**
 * The header set a NATS consumer decodes from `block` (`MsgHdrsImpl.decode`, the same in v2 and
 * v3): lines after the status line, `name: value` split at the first colon, the value trimmed,
 * repeated names appended. Undefined where decode throws (a name with a character outside
 * `!`…`~`, a value holding a lone CR or LF): the consumer then reads no header at all.
 */
function natsDelivered(block: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  for (const line of block.split('\r\n').slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!NATS_NAME.test(name) || /[\r\n]/.test(value)) return undefined;
    const values = out.get(name);
    if (values === undefined) out.set(name, [value]);
    else values.push(value);
  }
  return out;
}

/** A header name NATS accepts: printable ASCII but `:` (`canonicalMIMEHeaderKey`); may be empty. */
const NATS_NAME = /^[!-9;-~]*$/;

/**
 * BullMQ stores `JSON.stringify(data)`: JSON calls `toJSON`, unwraps boxed primitives, leaves out
 * a non-enumerable `__gray`, writes a `Uint8Array` as `{"0":98,…}`, and keeps the own `__gray` of
 * a class instance, which graylane reads only on plain objects. Data whose JSON form says
 * something else about `__gray` than the object does is refused.
 */
export function assertJobData(data: unknown, where: string): void {
  if (typeof data !== 'object' || data === null) return;
  let problem: string | undefined;
  try {
    problem = jobDataProblem(data);
  } catch (err) {
    throw new GraylaneError('INVALID_OPTIONS', `${where}: job data cannot be read`, {
      cause: err,
    });
  }
  if (problem !== undefined) refuse(where, problem);
}

function jobDataProblem(data: object): string | undefined {
  if (typeof (data as { toJSON?: unknown }).toJSON === 'function') {
    return 'job data has a toJSON method: BullMQ stores what it returns; pass data.toJSON()';
  }
  if (Array.isArray(data) || !Object.hasOwn(data, JOB_MARKER_FIELD)) return undefined;
  if (!isPlainObject(data)) {
    return `job data is a class instance with its own ${JOB_MARKER_FIELD}: pass a plain object`;
  }
  const value = data[JOB_MARKER_FIELD];
  if (rewritten(value) || (Array.isArray(value) && value.some(rewritten))) {
    return `${JOB_MARKER_FIELD} is a value JSON rewrites (toJSON, a boxed string): pass a string`;
  }
  if (!Object.getOwnPropertyDescriptor(data, JOB_MARKER_FIELD)?.enumerable) {
    return `${JOB_MARKER_FIELD} is not enumerable: JSON (BullMQ's storage) leaves it out, so the worker would read no marker: pass a plain enumerable field`;
  }
  // What the worker reads: the field as `JSON.stringify(data)` writes it (toJSON gets its key).
  const json = JSON.stringify({ [JOB_MARKER_FIELD]: value });
  const stored = (JSON.parse(json) as Record<string, unknown>)[JOB_MARKER_FIELD];
  if (judgedText(value, false) !== judgedText(stored, false)) {
    return `${JOB_MARKER_FIELD} holds ${describe(value)}, which BullMQ stores as the JSON ${clip(JSON.stringify(stored) ?? 'undefined')} (the worker would read ${judgedText(stored, false) === undefined ? 'no marker' : 'another marker'}): pass a string`;
  }
  return undefined;
}

/** At most 40 characters of `text`, for an error message. */
function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** An object JSON turns into something else: `toJSON` (a Date), a boxed primitive. */
function rewritten(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return (
    typeof (value as { toJSON?: unknown }).toJSON === 'function' ||
    value instanceof String ||
    value instanceof Number ||
    value instanceof Boolean
  );
}

/** A value's kind for an error message: `a Uint8Array`, `a list`, `a number`, `null`. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value !== 'object') return `a ${typeof value}`;
  try {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)
      ?.constructor?.name;
    return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
  } catch {
    return 'an object';
  }
}

/** The text graylane judges in `raw` and in `sent`, the value its consumer will get, agree. */
function sameJudged(raw: unknown, sent: unknown, baggage: boolean): boolean {
  const one = (v: unknown): string | undefined =>
    judgedText(readHeader(new Map([['h', v]]), 'h'), baggage);
  return one(raw) === one(sent);
}

/** amqplib's typed field value: an object with its own `!` key. */
function isTyped(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, '!');
}

/** @internal An object whose own enumerable keys are all its keys: `{}` or `Object.create(null)`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function refuse(where: string, message: string): never {
  throw new GraylaneError('INVALID_OPTIONS', `${where}: ${message}`);
}
