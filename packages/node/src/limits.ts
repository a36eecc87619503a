/**
 * Node-side limits and defaults, each with where it comes from. Core's limits
 * (`MAX_RAW_MARKER_BYTES`, `MAX_SIGNED_MARKER_BYTES`, `MAX_COOKIE_MAX_AGE_SECONDS`, …) apply too.
 */

/** Default marker header (DESIGN.md "Defaults"). Node delivers header names lower-cased. */
export const DEFAULT_HEADER = 'x-gray-id';
/** Default marker cookie, query parameter and baggage key (DESIGN.md "Defaults"). */
export const DEFAULT_MARKER_KEY = 'gray';
/** Opt-in debug response header (issue 3). */
export const DEBUG_HEADER = 'X-Gray-Decision';
/** Default sticky cookie lifetime: 30 days, the RELIABILITY cap. */
export const DEFAULT_STICKY_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;
/** Default signed-marker lifetime (2 h): long enough for a session, short enough to rotate. */
export const DEFAULT_SIGNED_TTL_SECONDS = 7200;
/** HMAC keys shorter than this are refused at construction (RFC 2104 §3: at least L/2 bytes). */
export const MIN_HMAC_KEY_BYTES = 16;
/** Key ids: short tokens safe inside a dotted signed marker. */
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** Subjects bound into a signature: bounded like core's bucketing subjects. */
export const MAX_SIGNED_SUBJECT_LENGTH = 256;
/** Anonymous subject ids we mint: 122 random bits from `crypto.randomUUID`. */
export const SUBJECT_ID_PATTERN = /^[0-9a-f-]{36}$/;
