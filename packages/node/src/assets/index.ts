/**
 * `@graylane/node/assets` — the page itself on the lane: serve one front-end build per version
 * (`<root>/<version>/`) for the request's decided version, with lane fallback, the version
 * injected into HTML for the browser SDK, and caching that never lets a CDN mix lanes.
 */
export { createAssetLanes } from './handler.js';
export type { AssetLanes, AssetNextFunction } from './handler.js';
export type { AssetLanesOptions, HtmlContext } from './options.js';
export type { AssetLaneStats, AssetMiss, InjectionSkip, ServedKind } from './stats.js';
export type { PathRejection } from './path.js';
export type { FileMiss } from './files.js';
export {
  DEFAULT_VARY,
  HASHED_NAME,
  IMMUTABLE_CACHE_CONTROL,
  IMMUTABLE_PRIVATE_CACHE_CONTROL,
  INLINE_CONFIG_GLOBAL,
  LANE_CACHE_CONTROL,
  MAX_ASSET_PATH_BYTES,
  MAX_HTML_BYTES,
  META_NAME,
} from './limits.js';
