/**
 * The graylane setup both sides share: the browser options (used by the server render and by
 * hydration, so they agree) and the server config (a 50/50 split, sticky per visitor).
 */
import type { GrayOptions } from '@graylane/browser';

/** The versions this site ships front-end builds for. */
export const VERSIONS = ['stable', 'beta'] as const;

/** `initGray` options of the page. `?gray=beta` is a QA override for one page view. */
export const BROWSER_OPTIONS: GrayOptions = {
  versions: [...VERSIONS],
  default: 'stable',
  override: true,
  // Exposure, as an analytics event (a GTM-style dataLayer): once per page view, even though
  // StrictMode renders and mounts everything twice.
  onAssign: (version, reason) => {
    const page = globalThis as { dataLayer?: unknown[] };
    (page.dataLayer ??= []).push({ event: 'gray_exposure', version, reason });
  },
};

/** The server's rules: half of new visitors get beta, bucketed on a visitor-id cookie. */
export const SERVER_CONFIG = {
  versions: [...VERSIONS],
  default: 'stable',
  rules: [
    {
      id: 'half-beta',
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'cookie:gray_aid',
    },
  ],
};
