import { setBaggageMember } from '@graylane/core';
import type { Baggage } from '@opentelemetry/api';

/**
 * @internal Serializes `baggage` as a W3C header with `key=version` first and exactly once.
 * Entries are encoded like OTel's `getKeyPairs` (metadata kept as-is); core's `setBaggageMember`
 * then applies the W3C limits (180 members, 4096 per member, 8192 total) without ever
 * emitting a partial member, so the marker always fits (OUT-01, OUT-08).
 */
export function serializeWithMarker(
  baggage: Baggage | undefined,
  key: string,
  version: string,
): string {
  const others: string[] = [];
  if (baggage !== undefined) {
    for (const [name, entry] of baggage.getAllEntries()) {
      if (name === key) continue;
      let pair = `${encodeURIComponent(name)}=${encodeURIComponent(entry.value)}`;
      if (entry.metadata !== undefined) pair += `;${entry.metadata.toString()}`;
      others.push(pair);
    }
  }
  return setBaggageMember(others, key, version);
}
