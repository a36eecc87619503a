/**
 * `@graylane/next/client` — browser-side helpers for Next.js client components. No React and no
 * Next imports: safe in any client bundle, inert during SSR.
 */
import { isVersionLabel } from '@graylane/core';
import { META_NAME } from './constants.js';

/**
 * The version the server rendered this page for, from `<meta name="graylane-version">` in the
 * page's `<head>` (written by `grayMetadata()`), or undefined during SSR, without the tag, or
 * when several tags disagree. Pass it to
 * `initGray({ serverVersion })` so the client starts on the server's lane (no flash).
 *
 * @example
 * ```ts
 * 'use client';
 * import { initGray } from '@graylane/browser';
 * import { readServerVersion } from '@graylane/next/client';
 * const gray = initGray({ versions: ['stable', 'beta'], default: 'stable', serverVersion: readServerVersion() });
 * ```
 */
export function readServerVersion(): string | undefined {
  try {
    const head = typeof document == 'object' ? document?.head : undefined;
    // Only `<head>` holds the server's hand-off: a meta in `<body>` may be markup the page
    // echoes. Several that disagree name no version, like two cookies (CK-02).
    const metas = head?.querySelectorAll<HTMLMetaElement>(`meta[name="${META_NAME}"]`);
    let found: string | undefined;
    for (let i = 0; i < (metas?.length ?? 0); i++) {
      const content = metas?.item(i)?.content;
      if (found !== undefined && found !== content) return undefined;
      found = content;
    }
    return found !== undefined && isVersionLabel(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

export { META_NAME } from './constants.js';
