import { Buffer } from 'node:buffer';
import {
  compileSigningKeys,
  signingKeyBytes,
  type KeyMaterial,
  type KeyRing,
} from '@graylane/core';

export type { KeyMaterial, KeyRing } from '@graylane/core';

/** @internal Validates one key at construction time (core's rules); throws `INVALID_OPTIONS`. */
export function keyBytes(kid: string, key: KeyMaterial): Buffer {
  return asBuffer(signingKeyBytes(kid, key));
}

/** @internal Compiles a key ring into a Map of validated keys; throws `INVALID_OPTIONS`. */
export function compileKeys(ring: KeyRing): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [kid, bytes] of compileSigningKeys(ring)) out.set(kid, asBuffer(bytes));
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
