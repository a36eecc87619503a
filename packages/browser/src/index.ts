/**
 * @graylane/browser — assign, persist and carry the gray marker from the first page view.
 * Nothing runs on import: call `initGray`, then wrap (`withGray`) or opt in to patching.
 */

export { initGray } from './client.js';
export type { GrayClient, GrayTrackingFields } from './client.js';

export { createJsCookieJar } from './cookie-jar.js';
export type {
  CookieAttributes,
  CookieJarLike,
  JsCookieAttributes,
  JsCookieLike,
} from './cookie-jar.js';

export type {
  GrayCookieOptions,
  GrayListener,
  GrayOptions,
  GrayRules,
  GrayRulesContext,
} from './options.js';

export { withGray } from './with-gray.js';
export type { FetchLike, WithGrayOptions } from './with-gray.js';

export { installFetch } from './install-fetch.js';
export { installXHR } from './install-xhr.js';

export { excludePaths } from './exclude.js';

export { split } from './split.js';
export type { SplitOptions } from './split.js';

export { rulesFromConfig } from './rules.js';
export type { RulesFromConfigOptions } from './rules.js';
