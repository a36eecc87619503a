/**
 * @graylane/openfeature — graylane's lane in OpenFeature: a provider that answers a flag with it
 * and a hook that puts it in the evaluation context. The providers are subpath exports:
 * `/server` (`@openfeature/server-sdk` + `@graylane/node`) and `/web` (`@openfeature/web-sdk` +
 * `@graylane/browser`). The root holds the SDK-neutral mapping. Nothing happens on import.
 */
export { DEFAULT_CONTEXT_KEY, DEFAULT_FLAG_KEY, PROVIDER_NAME } from './constants.js';
export { toOpenFeatureReason } from './reasons.js';
export { toFlagMetadata } from './metadata.js';
export type { LaneDecision } from './metadata.js';
export type { GrayProviderErrorCode, GrayProviderStats } from './resolver.js';
