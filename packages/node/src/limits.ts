/**
 * Node-side limits and defaults. The inbound defaults live in `@graylane/core` (one place for
 * every platform) and are re-exported here; core's limits (`MAX_RAW_MARKER_BYTES`,
 * `MAX_SIGNED_MARKER_BYTES`, `MAX_COOKIE_MAX_AGE_SECONDS`, …) apply too.
 */
export {
  DEBUG_HEADER,
  DEFAULT_HEADER,
  DEFAULT_MARKER_KEY,
  DEFAULT_SECURE_COOKIE,
  DEFAULT_SIGNED_TTL_SECONDS,
  DEFAULT_STICKY_MAX_AGE_SECONDS,
  KID_PATTERN,
  MAX_SIGNED_SUBJECT_LENGTH,
  MIN_HMAC_KEY_BYTES,
} from '@graylane/core';

/** Anonymous subject ids we mint: 122 random bits from `crypto.randomUUID`. */
export const SUBJECT_ID_PATTERN = /^[0-9a-f-]{36}$/;
