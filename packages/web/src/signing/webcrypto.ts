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

/**
 * Imported `CryptoKey`s by key *content* (hex), so a ring compiled anew on each call (keys can
 * rotate between calls) still imports each key once. Bounded: a process holds a few keys.
 */
const keyCache = new Map<string, unknown>();
/** Distinct keys kept imported; beyond it the oldest is dropped (re-imported on its next use). */
const MAX_CACHED_KEYS = 64;

function subtle(): SubtleLike {
  const c = (globalThis as { crypto?: { subtle?: SubtleLike } }).crypto;
  if (!c?.subtle) throw new Error('[graylane] Web Crypto (crypto.subtle) is not available here');
  return c.subtle;
}

/**
 * The imported key. Only an imported key is cached, never the promise of one: a pending import
 * shared across requests would belong to the first (on workerd, a promise of a request that has
 * ended never settles). Two requests that import the same key at once import it twice.
 */
async function importKey(key: Uint8Array): Promise<unknown> {
  const id = hex(key);
  const cached = keyCache.get(id);
  if (cached !== undefined) return cached;
  const k = await subtle().importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  if (!keyCache.has(id) && keyCache.size >= MAX_CACHED_KEYS)
    keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(id, k);
  return k;
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
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
