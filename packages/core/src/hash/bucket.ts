import { BUCKET_SPACE } from '../limits.js';
import { murmur3Continue, murmur3Prefix, murmur3Utf8, type Murmur3State } from './murmur3.js';

/**
 * The bucket (0–9999, basis points) of a subject under a salt:
 * `murmur3_x86_32(utf8(salt + ":" + subject), seed 0) % 10000`.
 * Deterministic across processes, runtimes and SDK versions (RELIABILITY I9); the golden
 * vectors in `spec/bucket.json` pin it.
 *
 * @example
 * ```ts
 * bucket('canary', 'user-42'); // a number in 0…9999, always the same
 * ```
 */
export function bucket(salt: string, subject: string): number {
  return murmur3Utf8(salt, 0, subject) % BUCKET_SPACE;
}

/**
 * @internal {@link bucket} for the rule engine: the hash state after `salt + ":"` is kept per
 * salt, so a request hashes only its subject (separate from `bucket` so browser bundles that
 * only split do not carry the cache).
 */
export function ruleBucket(salt: string, subject: string): number {
  let prefix = prefixes.get(salt);
  if (prefix === undefined) {
    prefix = murmur3Prefix(salt);
    // Salts come from configs (a few); a caller hashing under endless salts only refills this.
    if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
    prefixes.set(salt, prefix);
  }
  return murmur3Continue(prefix, subject) % BUCKET_SPACE;
}

/** The hash state after `salt + ":"`, per salt: a request hashes only its subject. */
const prefixes = new Map<string, Readonly<Murmur3State>>();
const MAX_PREFIXES = 256;

/** A short, stable hex hash of a string (for config fingerprints). Not cryptographic. */
export function shortHash(s: string): string {
  const a = murmur3Utf8(s, 0).toString(16).padStart(8, '0');
  const b = murmur3Utf8(s, 0x9747b28c).toString(16).padStart(8, '0');
  return a + b;
}
