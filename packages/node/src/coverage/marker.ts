import { parseMarker, readBaggageMember, type MarkerPolicy } from '@graylane/core';
import type { GrayStore } from '../context/storage.js';

/**
 * The next hop's config is not known here: any well-formed label counts as a version (a label
 * it does not declare it serves as its default, which coverage cannot tell from a break).
 */
const ANY_LABEL: MarkerPolicy = { hasVersion: () => true };

/** What one request sent, as graylane reads it. */
export interface Wire {
  /**
   * The version a graylane hop reads: its marker header first, else its `baggage` member, each
   * read by core's own readers (the inbound engine's definition of "a marker"): trimmed,
   * case-sensitive, one value; a baggage key percent-decoded (`%67ray`), properties ignored,
   * one key twice with different values ambiguous. A marker that reader ignores (`BETA`,
   * `beta, beta`, `GRAY=beta`) is none: the next hop falls through to the next carrier, as here.
   */
  readonly version: string | undefined;
  /**
   * Whether it sent a marker to a host, whatever lane it names: a non-blank marker header,
   * whatever its value, or a `baggage` member core's reader finds (its key decoding to the
   * baggage key, with a value: one of any spelling, or the key twice, ambiguous). `GRAY=beta` or
   * an empty `gray=` is none (graylane's hooks remove those from such a hop all the same).
   */
  readonly present: boolean;
}

const NONE: Wire = { version: undefined, present: false };

/** Reads what a request sent ({@link Wire}). Never throws. */
export function readWire(
  headers: readonly string[],
  baggage: readonly string[],
  store: GrayStore,
): Wire {
  try {
    const own = parseMarker(headers.length === 1 ? headers[0] : headers, ANY_LABEL);
    if (own.kind === 'valid') return { version: own.version, present: true };
    const header = own.kind !== 'absent';
    if (store.baggageKey === false || baggage.length === 0) return header ? PRESENT : NONE;
    const read = readBaggageMember(baggage, store.baggageKey);
    const member = read.kind === 'value' ? parseMarker(read.value, ANY_LABEL) : undefined;
    if (member?.kind === 'valid') return { version: member.version, present: true };
    return header || read.kind !== 'absent' ? PRESENT : NONE;
  } catch {
    return NONE;
  }
}

const PRESENT: Wire = { version: undefined, present: true };

/** Every value of header `name` in a raw head (`Name: value\r\n…`), names in any case. */
export function rawValues(text: string, name: string): string[] {
  const out: string[] = [];
  const wanted = `${name.toLowerCase()}:`;
  for (const line of text.split('\r\n')) {
    if (line.length < wanted.length) continue;
    if (line.slice(0, wanted.length).toLowerCase() === wanted)
      out.push(line.slice(wanted.length));
  }
  return out;
}

/** A node:http `getHeader` result as a list of values. */
export function headerList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return value === undefined || value === null ? [] : [String(value)];
}
