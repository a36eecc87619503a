import { MAX_HEADER_KEYS } from '../limits.js';

/**
 * Reads one header from a message's header table, as brokers hand them over: a plain object
 * (amqplib `properties.headers`, kafkajs `IHeaders`), a `Map`, NATS `MsgHdrs` (iterable of
 * `[name, values]`), or a list of one-key objects (the Confluent client's `MessageHeader[]`).
 *
 * Names compare case-insensitively; the same header under two spellings (`X-Gray-Id` and
 * `x-gray-id`) or twice in a list yields every value, so the caller sees it as ambiguous. Own keys
 * only (`__proto__` is data, never the prototype), at most MAX_HEADER_KEYS keys (I4). Returns
 * undefined when absent; a single value as is; several values as an array. Never throws.
 */
export function readHeader(table: unknown, name: string): unknown {
  try {
    return collect(table, name.toLowerCase());
  } catch {
    return undefined;
  }
}

function collect(table: unknown, lower: string): unknown {
  if (typeof table !== 'object' || table === null) return undefined;
  const found: unknown[] = [];
  if (Array.isArray(table)) {
    for (const entry of table.slice(0, MAX_HEADER_KEYS)) push(found, collect(entry, lower));
  } else if (isIterableHeaders(table)) {
    let seen = 0;
    for (const [key, value] of table) {
      if (++seen > MAX_HEADER_KEYS) break;
      if (typeof key === 'string' && key.toLowerCase() === lower) push(found, value);
    }
  } else {
    let seen = 0;
    for (const key in table) {
      if (!Object.hasOwn(table, key)) continue;
      if (++seen > MAX_HEADER_KEYS) break;
      if (key.toLowerCase() === lower) push(found, (table as Record<string, unknown>)[key]);
    }
  }
  if (found.length === 0) return undefined;
  return found.length === 1 ? found[0] : found;
}

/**
 * NATS `MsgHdrs` yields `[name, string[]]`, kafkajs allows a list per name. Two values are enough
 * to know the header is ambiguous, so at most two are kept from any list (bounded, I4).
 */
function push(found: unknown[], value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) found.push(value);
  else for (const v of value.slice(0, 2) as unknown[]) found.push(Array.isArray(v) ? NESTED : v);
}

/** Stands for a list inside a list: not a header value (read as a charset rejection). */
const NESTED: object = Object.freeze({ nested: true });

function isIterableHeaders(value: object): value is Iterable<[unknown, unknown]> {
  return (
    value instanceof Map ||
    (typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' &&
      typeof (value as { keys?: unknown }).keys === 'function')
  );
}
