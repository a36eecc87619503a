import { GraylaneError } from '@graylane/core';
import { sameName } from '../carrier/table.js';
import { BAGGAGE_HEADER, JOB_MARKER_FIELD } from '../limits.js';
import type { MessageLanes } from '../lanes.js';

/**
 * A router routes a message by the marker it reads on the object passed to `publish()`/`add()`;
 * its consumer judges what the broker client encoded from that object. Where the client would
 * encode something else — add a marker graylane did not read, drop one it read, or rewrite one —
 * the router would send the message to one lane and its consumer would run it in another. Those
 * carriers are refused (`INVALID_OPTIONS`) before anything is routed; everything else is encoded
 * exactly as graylane reads it.
 */

/**
 * amqplib encodes a header table with `for…in` (inherited enumerable keys too), sends a `Map`
 * or other iterable as an empty table, and unwraps its typed values (`{ '!': 'string', value }`).
 * So the table must be a plain object, and the marker and `baggage` keys must hold plain values.
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
    if (!sameName(key, lanes.header) && !sameName(key, BAGGAGE_HEADER)) continue;
    const value = headers[key];
    if (isTyped(value) || (Array.isArray(value) && value.some(isTyped))) {
      refuse(
        where,
        `headers[${JSON.stringify(key)}] is an amqplib typed value ({ '!': type, value }): pass the value itself`,
      );
    }
  }
}

/**
 * NATS clients encode the header set they are given (`MsgHdrs`); anything else is not sent as
 * headers at all. The router reads it as a header set, so it must be one.
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
}

/**
 * BullMQ stores `JSON.stringify(data)`: JSON calls `toJSON`, unwraps boxed primitives, and keeps
 * the own `__gray` of a class instance, which graylane reads only on plain objects. Data whose
 * JSON form says something else about `__gray` than the object does is refused.
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
  return undefined;
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
