import { GraylaneError } from '../errors.js';
import { MIN_HMAC_KEY_BYTES } from '../limits.js';
import { utf8Encode } from './bytes.js';
import { KID_PATTERN } from './token.js';

/** Key material: UTF-8 text or raw bytes. */
export type KeyMaterial = string | Uint8Array;

/** A key ring: key id → key. A Map or a record (read by own keys only). */
export type KeyRing = ReadonlyMap<string, KeyMaterial> | Readonly<Record<string, KeyMaterial>>;

/**
 * Validates one key at construction time and returns its bytes (a copy): key text without the
 * white space around it (as `graylane sign --key-file` reads it), UTF-8. Throws
 * `INVALID_OPTIONS` for a key id outside `[A-Za-z0-9_-]{1,32}` or a key under 16 bytes.
 *
 * @example
 * ```ts
 * const bytes = signingKeyBytes('2026-01', process.env.GRAY_KEY!);
 * ```
 */
export function signingKeyBytes(kid: string, key: KeyMaterial): Uint8Array<ArrayBuffer> {
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `key id ${JSON.stringify(String(kid).slice(0, 40))} must match ${String(KID_PATTERN)}`,
    );
  }
  // Key text is trimmed: a key file read whole ends with a newline (`openssl rand -base64 32 >
  // gray.key`), which the CLI drops, and a server that kept it would refuse every token signed
  // with the file's key, silently (review 133 D1). Bytes are taken as given.
  const bytes =
    typeof key === 'string'
      ? utf8Encode(key.trim())
      : key instanceof Uint8Array
        ? Uint8Array.from(key)
        : undefined;
  if (bytes === undefined) {
    throw new GraylaneError('INVALID_OPTIONS', `key "${kid}" must be a string or a Uint8Array`);
  }
  if (bytes.length < MIN_HMAC_KEY_BYTES) {
    throw new GraylaneError(
      'INVALID_OPTIONS',
      `key "${kid}" is shorter than ${MIN_HMAC_KEY_BYTES} bytes`,
    );
  }
  return bytes;
}

/**
 * Validates a key ring once, in its iteration order (the first entry is the default signer).
 * Throws `INVALID_OPTIONS` on a bad key id or a short key.
 *
 * @example
 * ```ts
 * const keys = compileSigningKeys({ '2026-02': newKey, '2026-01': oldKey });
 * [...keys.keys()][0]; // '2026-02'
 * ```
 */
export function compileSigningKeys(ring: KeyRing): Map<string, Uint8Array<ArrayBuffer>> {
  if (typeof ring !== 'object' || ring === null) {
    throw new GraylaneError('INVALID_OPTIONS', 'keys must be a Map or a record of key id → key');
  }
  const out = new Map<string, Uint8Array<ArrayBuffer>>();
  const entries: Iterable<[string, KeyMaterial]> =
    ring instanceof Map ? ring.entries() : Object.entries(ring as Record<string, KeyMaterial>);
  for (const [kid, key] of entries) out.set(kid, signingKeyBytes(kid, key));
  return out;
}
