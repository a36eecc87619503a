import { BAGGAGE_HEADER } from '../limits.js';

/**
 * Reads one header from a message's header table, as brokers hand them over: a plain object
 * (amqplib `properties.headers`, kafkajs `IHeaders`), a `Map`, NATS `MsgHdrs` (iterable of
 * `[name, values]`), or a list of one-key objects (the Confluent client's `MessageHeader[]`).
 *
 * Names compare case-insensitively; the same header under two spellings (`X-Gray-Id` and
 * `x-gray-id`) or twice in a list yields two values, so the caller sees it as ambiguous (and
 * `baggage` yields every value: one W3C list). Own keys only (`__proto__` is data, never the
 * prototype). Every key is looked at, wherever the header sits, until a marker header is known
 * ambiguous: a handler sees, and a relay forwards, the whole table, so a marker past any cap
 * would be one the consumer neither judged nor removed (GW-01; the scrub removes every spelling
 * of a refused one). The scan is one linear pass over a table
 * the broker client has already decoded (its size bounded by the broker's frame or payload limit),
 * comparing lengths before case. Returns undefined when absent; a single value as is; several
 * values as an array. Never throws.
 */
export function readHeader(table: unknown, name: string): unknown {
  try {
    return collect(table, name.toLowerCase());
  } catch {
    return undefined;
  }
}

/** True when `key` is `lower` under any spelling (length first: most keys differ there). */
export function sameName(key: unknown, lower: string): boolean {
  return typeof key === 'string' && key.length === lower.length && key.toLowerCase() === lower;
}

function collect(table: unknown, lower: string): unknown {
  if (typeof table !== 'object' || table === null) return undefined;
  const found: unknown[] = [];
  // A marker header: two values tell it ambiguous, so the scan stops there (review 79 D4: 80,000
  // Confluent entries were all kept); baggage: every value.
  const all = lower === BAGGAGE_HEADER;
  const enough = () => !all && found.length >= 2;
  if (Array.isArray(table)) {
    // Confluent entries are one-key objects; a list inside the list is not an entry.
    for (const entry of table as unknown[]) {
      if (!Array.isArray(entry)) pushValues(found, collect(entry, lower), all);
      if (enough()) break;
    }
  } else if (isIterableHeaders(table)) {
    for (const [key, value] of table) {
      if (sameName(key, lower)) pushValues(found, value, all);
      if (enough()) break;
    }
  } else {
    for (const key of Object.keys(table)) {
      if (sameName(key, lower)) pushValues(found, (table as Record<string, unknown>)[key], all);
      if (enough()) break;
    }
  }
  if (found.length === 0) return undefined;
  return found.length === 1 ? found[0] : found;
}

/**
 * NATS `MsgHdrs` yields `[name, string[]]`, kafkajs and AMQP field arrays allow a list per name.
 * Two values tell a marker header ambiguous, so at most two are kept from its lists; every value
 * of `baggage` is kept, one W3C list (MQ-44: a member in a third value had been neither judged
 * nor removed, and a scrub that wrote the header back dropped the values past the second with
 * all their members). Bounded by the table the client decoded (I4); the baggage reader caps what
 * it joins.
 */
function pushValues(found: unknown[], value: unknown, all: boolean): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) return void found.push(value);
  for (const v of (all ? value : value.slice(0, 2)) as unknown[])
    found.push(Array.isArray(v) ? NESTED : v);
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
