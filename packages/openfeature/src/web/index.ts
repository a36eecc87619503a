/**
 * `@graylane/openfeature/web` — the provider, the context sync and the context wrapper for
 * `@openfeature/web-sdk`, backed by a `@graylane/browser` client.
 */
export { createGrayWebProvider } from './provider.js';
export type { GrayWebProvider, GrayWebProviderOptions } from './provider.js';
export { syncGrayContext } from './sync-context.js';
export type { OpenFeatureContextLike, SyncGrayContextOptions } from './sync-context.js';
export { withGrayContext } from './with-gray-context.js';
export type { WithGrayContextOptions } from './with-gray-context.js';
export type { GrayClientLike } from './client-like.js';
export { DEFAULT_CONTEXT_KEY, DEFAULT_FLAG_KEY } from '../constants.js';
export type { GrayProviderErrorCode, GrayProviderStats } from '../resolver.js';
