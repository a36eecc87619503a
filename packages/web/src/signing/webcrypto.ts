/**
 * HMAC-SHA256 over Web Crypto (`crypto.subtle`, looked up at call time): the only primitive
 * the Web engine adds to core's signed-marker format. Imported keys are cached per key bytes.
 */

/** The part of `SubtleCrypto` graylane uses (typed here: the package compiles without the DOM lib). */
interface SubtleLike {
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: { name: 'HMAC'; hash: 'SHA-256' },
    extractable: false,
    usages: ('sign' | 'verify')[],
  ): Promise<unknown>;
  sign(algorithm: 'HMAC', key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  verify(
    algorithm: 'HMAC',
    key: unknown,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
}

/** Imported `CryptoKey`s, keyed by the (validated, never mutated) key bytes. */
const keyCache = new WeakMap<Uint8Array, Promise<unknown>>();

function subtle(): SubtleLike {
  const c = (globalThis as { crypto?: { subtle?: SubtleLike } }).crypto;
  if (!c?.subtle) throw new Error('[graylane] Web Crypto (crypto.subtle) is not available here');
  return c.subtle;
}

function importKey(key: Uint8Array): Promise<unknown> {
  const cached = keyCache.get(key);
  if (cached) return cached;
  const k = subtle().importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  keyCache.set(key, k);
  return k;
}

/**
 * HMAC-SHA256 of `data` under `key`, with Web Crypto.
 *
 * @example
 * ```ts
 * const mac = await webHmacSha256(keyBytes, new TextEncoder().encode('beta.1800003600.k1'));
 * ```
 */
export async function webHmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const mac = await subtle().sign('HMAC', await importKey(key), data);
  return new Uint8Array(mac);
}

/**
 * True when `signature` is HMAC-SHA256(`key`, `data`). `crypto.subtle.verify` compares in
 * constant time (HDR-13). Resolves false on any error, never rejects.
 */
export async function webHmacVerify(
  key: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    return await subtle().verify('HMAC', await importKey(key), signature, data);
  } catch {
    return false;
  }
}
