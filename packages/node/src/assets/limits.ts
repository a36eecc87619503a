/**
 * Limits and defaults of the asset-lane gateway, each with where it comes from.
 */

/**
 * Longest request path (before the query) looked at, in bytes. Longer paths are not served,
 * without decoding them (I4). 2 KiB is far above any build's file names and below Node's 16 KiB
 * header limit.
 */
export const MAX_ASSET_PATH_BYTES = 2048;
/** Deepest folder nesting served; a build has a handful of levels. */
export const MAX_ASSET_PATH_SEGMENTS = 32;
/**
 * Largest HTML document that gets the version injected (read into memory to do it). Larger
 * documents are served unchanged and counted (`html_too_large`). 2 MiB is roughly 100 times a
 * typical single-page-app shell.
 */
export const MAX_HTML_BYTES = 2 * 1024 * 1024;
/**
 * Largest HTML document served unchanged (over {@link MAX_HTML_BYTES}) that is read through once
 * to learn whether all of it is UTF-8, before it is sent as `charset=utf-8`; a larger one is
 * sent without a charset (its own BOM or meta decides). 64 MiB: reports and exported docs fit,
 * and the check costs one extra read of the file.
 */
export const MAX_UTF8_CHECK_BYTES = 64 * 1024 * 1024;
/**
 * Largest content-addressed file whose copies in two lanes are compared byte for byte (SHA-256,
 * remembered per file version) before it is shared by every lane. Two copies of the same size
 * above it are taken as different: served per lane. 32 MiB is far above any chunk, font or image.
 */
export const MAX_COMPARED_BYTES = 32 * 1024 * 1024;
/**
 * File versions whose digest a handler remembers, the least recently asked forgotten first: room
 * for 16,384 hashed files in each of two lanes (about 200 bytes each).
 */
export const MAX_DIGESTS = 32_768;
/** Where the `<head>` start tag is looked for: the first 64 KiB of the document. */
export const HEAD_SEARCH_CHARS = 64 * 1024;
/**
 * How far the head is walked for `<meta name="graylane-version">` tags the page already carries
 * (an SSR app's own, a template's hard-coded one): the whole of any document the version is
 * injected into ({@link MAX_HTML_BYTES}); a longer `transformHtml` result is walked this far.
 * Not the 64 KiB of {@link HEAD_SEARCH_CHARS}: inline styles (`<style data-precedence>`, CSS-in-JS)
 * come before a React-rendered meta and can be larger than that.
 */
export const HEAD_WALK_CHARS = MAX_HTML_BYTES;
/**
 * Longest `If-None-Match` read; longer ones are ignored (full response). 4 KiB holds about 100
 * entity tags.
 */
export const MAX_IF_NONE_MATCH_BYTES = 4096;
/** Largest serialized inline config; larger ones are skipped and counted. */
export const MAX_INLINE_CONFIG_BYTES = 16 * 1024;
/** A CSP nonce as helmet and most frameworks mint it (base64 / base64url), at most 128 chars. */
export const NONCE_PATTERN = /^[A-Za-z0-9+/_-]{8,128}={0,2}$/;

/** `Cache-Control` of content-hashed assets: one year, never revalidated (RFC 8246 immutable). */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/**
 * `Cache-Control` of a content-hashed asset on a response that sets a cookie (the middleware's
 * sticky cookie on a visitor's first request): the same year, in the browser only, so no shared
 * cache hands that cookie to everyone.
 */
export const IMMUTABLE_PRIVATE_CACHE_CONTROL = 'private, max-age=31536000, immutable';
/**
 * `Cache-Control` of HTML and other lane-dependent files: the browser revalidates every time and
 * shared caches (CDNs) do not store them, so one visitor's lane never reaches another.
 */
export const LANE_CACHE_CONTROL = 'private, no-cache';
/** `Cache-Control` when a per-request CSP nonce is in the document: never stored. */
export const NONCE_CACHE_CONTROL = 'private, no-store';
/**
 * `Cache-Control` of the gateway's own 404s and 500s. A 404 for a path another lane's build has
 * depends on the lane, and CDNs keep errors sent without `Cache-Control` (CloudFront 10 s,
 * nginx's `proxy_cache_valid 404`): stored, it would be served to that lane's visitors. The
 * nginx render answers errors `no-store` too.
 */
export const MISS_CACHE_CONTROL = 'private, no-store';
/**
 * `Cache-Control` of a name that looks content-hashed only by a run that also reads as a word
 * (`logo-FACEBOOK.png`) while some lane's build lacks it: the same bytes for every lane now, so
 * shared caches may keep it, but revalidated on every use (its ETag), because a lane deployed
 * later may hold other bytes under the name (review 173 D2).
 */
export const REVALIDATE_CACHE_CONTROL = 'public, no-cache';
/** The request headers the lane depends on (DESIGN.md defaults: `gray` cookie, `X-Gray-Id`). */
export const DEFAULT_VARY: readonly string[] = ['Cookie', 'X-Gray-Id'];

/** The meta tag the browser SDK reads: `<meta name="graylane-version" content="beta">`. */
export const META_NAME = 'graylane-version';
/** The global the optional inline config is assigned to: `window.__GRAYLANE__`. */
export const INLINE_CONFIG_GLOBAL = '__GRAYLANE__';

/** Content-hashed file names: see hashed-name.ts. */
export { HASHED_NAME } from './hashed-name.js';
