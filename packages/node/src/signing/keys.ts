import { Buffer } from 'node:buffer';
import { GraylaneError } from '@graylane/core';
import { KID_PATTERN, MIN_HMAC_KEY_BYTES } from '../limits.js';

/** Key material: UTF-8 text or raw bytes. */
export type KeyMaterial = string | Uint8Array;

/** A key ring: key id → key. A Map or a record (read by own keys only). */
export type KeyRing = ReadonlyMap<string, KeyMaterial> | Readonly<Record<string, KeyMaterial>>;

/** @internal Validates one key at construction time; throws `INVALID_OPTIONS`. */
export function keyBytes(kid: string, key: KeyMaterial): Buffer {
  if (!KID_PATTERN.test(kid)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `key id ${JSON.stringify(kid.slice(0, 40))} must match ${String(KID_PATTERN)}`,
    );
  }
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length < MIN_HMAC_KEY_BYTES) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `key "${kid}" is shorter than ${MIN_HMAC_KEY_BYTES} bytes`,
    );
  }
  return bytes;
}

/** @internal Compiles a key ring into a Map of validated keys; throws `INVALID_OPTIONS`. */
export function compileKeys(ring: KeyRing): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const entries: Iterable<[string, KeyMaterial]> =
    ring instanceof Map ? ring.entries() : Object.entries(ring as Record<string, KeyMaterial>);
  for (const [kid, key] of entries) out.set(kid, keyBytes(kid, key));
  return out;
}
