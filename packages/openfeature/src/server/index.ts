/**
 * `@graylane/openfeature/server` — the provider and the context hook for
 * `@openfeature/server-sdk`, reading the lane from `@graylane/node`'s request context.
 */
export { createGrayServerProvider } from './provider.js';
export type { GrayServerProvider, GrayServerProviderOptions } from './provider.js';
export { createGrayContextHook } from './hook.js';
export type { GrayContextHookOptions } from './hook.js';
export { DEFAULT_CONTEXT_KEY, DEFAULT_FLAG_KEY } from '../constants.js';
export type { GrayProviderErrorCode, GrayProviderStats } from '../resolver.js';
export type { LaneDecision } from '../metadata.js';
