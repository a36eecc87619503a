import type { MarkerRejection } from '@graylane/core';

/** One carrier value after normalisation: absent, one text value, or rejected. */
export type ValueRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'invalid'; readonly reason: MarkerRejection };

const ABSENT: ValueRead = { kind: 'absent' };
const TOO_LONG: ValueRead = { kind: 'invalid', reason: 'too_long' };
const CHARSET: ValueRead = { kind: 'invalid', reason: 'charset' };
const AMBIGUOUS: ValueRead = { kind: 'invalid', reason: 'ambiguous' };
const UTF8 = new TextDecoder('utf-8', { fatal: true });

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
