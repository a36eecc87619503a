/**
 * @graylane/browser/standalone — the browser SDK as one self-contained file for a plain page
 * without a bundler: `dist/graylane.browser.js` (ESM) and `dist/graylane.iife.js` (a classic
 * script that defines the global `Graylane`), with @graylane/core and js-cookie inlined. Nothing
 * runs on load: call `initGray`, then wrap or opt in to patching, as with the package entry.
 */

export { initGray } from './client.js';
export type { GrayClient, GrayTrackingFields } from './client.js';
export { createJsCookieJar } from './cookie-jar.js';
export type { CookieAttributes, CookieJarLike } from './cookie-jar.js';
export type { GrayCookieOptions, GrayListener, GrayOptions, GrayRules } from './options.js';
export { withGray } from './with-gray.js';
export type { FetchLike, WithGrayOptions } from './with-gray.js';
export { installFetch } from './install-fetch.js';
export { installXHR } from './install-xhr.js';
export { excludePaths } from './exclude.js';
export { split } from './split.js';
export type { SplitOptions } from './split.js';
export { attachGray } from './axios.js';
export type {
  AttachGrayOptions,
  AxiosInstanceLike,
  AxiosInterceptorManagerLike,
  AxiosRequestConfigLike,
} from './axios.js';
