/**
 * Web-engine limits and defaults, each with where it comes from. Core's limits
 * (`MAX_RAW_MARKER_BYTES`, `MAX_SIGNED_MARKER_BYTES`, `MAX_COOKIE_MAX_AGE_SECONDS`, …) apply too.
 */

/** Default marker header (DESIGN.md "Defaults"); Fetch `Headers` are case-insensitive. */
export const DEFAULT_HEADER = 'x-gray-id';
/** Default marker cookie, query parameter and baggage key (DESIGN.md "Defaults"). */
export const DEFAULT_MARKER_KEY = 'gray';
/** Opt-in debug response header (issue 3; the same name as `@graylane/node`). */
export const DEBUG_HEADER = 'X-Gray-Decision';
/**
 * Redirect hops `withGray` follows itself before giving up: the Fetch standard's limit
 * (https://fetch.spec.whatwg.org/#http-redirect-fetch, "redirect count is 20").
 */
export const MAX_REDIRECTS = 20;
/**
 * The most `withGray` copies of a `Request`'s body (or `FormData`) to resend it on a 307/308.
 * The Fetch standard resends a body from its source and fails the fetch for a stream; a wrapper
 * cannot see a `Request`'s source, so it keeps a bounded copy instead (I4). Ours: 1 MiB, the
 * config document cap, so an upload proxied through a Worker never doubles in memory unbounded.
 */
export const MAX_REDIRECT_REPLAY_BYTES = 1024 * 1024;
/** Rules at the edge: the shortest pause between two refreshes of one source (Workers have no long timers). */
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;
/** Rules at the edge: a refresh that takes longer than this is abandoned (LKG kept). */
export const DEFAULT_REFRESH_TIMEOUT_MS = 5_000;
