import { trimOws, type MarkerRejection } from '@graylane/core';
import {
  MAX_BAGGAGE_VALUE_BYTES,
  MAX_FORWARDED_BAGGAGE_BYTES,
  MAX_MARKER_VALUE_BYTES,
} from '../limits.js';

/** One carrier value after normalisation: absent, one text value, or rejected. */
export type ValueRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'invalid'; readonly reason: MarkerRejection };

const ABSENT: ValueRead = { kind: 'absent' };
const TOO_LONG: ValueRead = { kind: 'invalid', reason: 'too_long' };
const CHARSET: ValueRead = { kind: 'invalid', reason: 'charset' };
const AMBIGUOUS: ValueRead = { kind: 'invalid', reason: 'ambiguous' };
/**
 * Strict UTF-8 that keeps a leading BOM: bytes and the string they encode are judged alike (a BOM
 * stripped from `Buffer.from('\ufeffbeta')` would make it `beta`, while the string stays invalid).
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Normalises a header value as brokers deliver them: a string, bytes (`Buffer`, `Uint8Array`:
 * Kafka record headers, AMQP byte arrays), a one-element list, or anything else. Bounded: text
 * and bytes over `maxBytes` are rejected unread; bytes are decoded as strict UTF-8. Several
 * values are ambiguous (HDR-07); numbers, booleans and objects are not markers. Never throws.
 */
export function readValue(value: unknown, maxBytes: number): ValueRead {
  if (value === undefined || value === null) return ABSENT;
  if (typeof value === 'string') return value.length > maxBytes ? TOO_LONG : text(value);
  if (value instanceof Uint8Array) return decode(value, maxBytes);
  if (Array.isArray(value)) {
    if (value.length === 0) return ABSENT;
    if (value.length > 1) return AMBIGUOUS;
    const only = value[0] as unknown;
    // One level only: a list inside a list is not a header value.
    return Array.isArray(only) ? CHARSET : readValue(only, maxBytes);
  }
  return CHARSET;
}

/**
 * The text a router or a consumer judges in one carrier value — `value` as `readHeader` returns
 * it for the marker header (`baggage` false) or the `baggage` header (true) — or undefined when
 * it judges none there (absent, refused, blank). A lone surrogate reads as U+FFFD, as every client
 * sends it in UTF-8 (markers are ASCII: either makes one invalid alike). Two values with the same
 * judged text are decided alike; a router compares the value it was handed with what its client
 * will deliver for it, and refuses the call when they differ (MQ-23). Never throws.
 */
export function judgedText(value: unknown, baggage: boolean): string | undefined {
  const r =
    baggage && Array.isArray(value) && value.length > 1
      ? readList(value, MAX_BAGGAGE_VALUE_BYTES)
      : readValue(value, baggage ? MAX_BAGGAGE_VALUE_BYTES : MAX_MARKER_VALUE_BYTES);
  if (r.kind !== 'text' || trimOws(r.text) === '') return undefined;
  return SURROGATE.test(r.text) ? UTF8.decode(new TextEncoder().encode(r.text)) : r.text;
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Several values of one list-valued header (repeated `baggage` headers), joined with `,` as one
 * header would carry them: each read as {@link readValue} reads one value, the whole bounded by
 * `maxBytes`. An invalid item makes the list invalid. Never throws.
 */
export function readList(values: readonly unknown[], maxBytes: number): ValueRead {
  const parts: string[] = [];
  let bytes = 0;
  for (const item of values) {
    const r = Array.isArray(item) ? CHARSET : readValue(item, maxBytes);
    if (r.kind === 'invalid') return r;
    if (r.kind === 'absent') continue;
    bytes += r.text.length + 1;
    if (bytes > maxBytes + 1) return TOO_LONG;
    parts.push(r.text);
  }
  return parts.length === 0 ? ABSENT : text(parts.join(','));
}

function decode(bytes: Uint8Array, maxBytes: number): ValueRead {
  if (bytes.byteLength > maxBytes) return TOO_LONG;
  try {
    return text(UTF8.decode(bytes));
  } catch {
    return CHARSET;
  }
}

function text(value: string): ValueRead {
  return { kind: 'text', text: value };
}

/**
 * The text of a `baggage` header a producer is about to merge its member into, as a record being
 * forwarded carries it: a string, bytes (Kafka and AMQP deliver header values as Buffers), or a
 * list (kafkajs repeats a header as an array; W3C combines repeated baggage headers). Bytes are
 * decoded as strict UTF-8 up to MAX_FORWARDED_BAGGAGE_BYTES. Undefined when there is nothing
 * usable (other shapes, invalid or oversized bytes): the member is then written alone, since a
 * baggage value cut in half would be a wrong value (W3C: never a partial member). Never throws.
 */
export function baggageText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    if (value.byteLength > MAX_FORWARDED_BAGGAGE_BYTES) return undefined;
    try {
      return UTF8.decode(value);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(value)) return undefined;
  const parts: string[] = [];
  let bytes = 0;
  for (const item of value.slice(0, MAX_BAGGAGE_LIST) as unknown[]) {
    const text = Array.isArray(item) ? undefined : baggageText(item);
    if (text === undefined || (bytes += text.length) > MAX_FORWARDED_BAGGAGE_BYTES)
      return undefined;
    parts.push(text);
  }
  return parts.length === 0 ? undefined : parts.join(',');
}

/** W3C baggage allows 180 list members in all: more repeated headers than that are not baggage. */
const MAX_BAGGAGE_LIST = 180;
