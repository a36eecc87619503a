/**
 * @graylane/next — graylane for Next.js (App Router): a proxy/middleware that decides with the
 * Web engine and hands the lane to server components, route handlers and server actions
 * (`getGrayVersion()`), a fetch that carries it, and the `<meta>` hand-off to the browser SDK
 * (`<GrayMeta />`, in `<head>`).
 * Client code uses `@graylane/next/client`.
 */

export { createGrayProxy } from './proxy.js';
export type { GrayProxy, GrayProxyOptions, ProxyEventLike } from './proxy.js';
export {
  createGrayFetch,
  getGrayDecision,
  getGrayVersion,
  grayMetadata,
  tryGetGrayVersion,
} from './server.js';
export type { GrayFetchOptions } from './server.js';
export { GrayMeta } from './meta.js';
export { DECISION_REQUEST_HEADER, META_NAME } from './constants.js';
export { DECISION_KEY_ENV, DECISION_KEY_FALLBACK_ENV, DECISION_SEAL_TTL_SECONDS } from './seal.js';
