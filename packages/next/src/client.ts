/**
 * `@graylane/next/client` — browser-side helpers for Next.js client components. No React and no
 * Next imports: safe in any client bundle, inert during SSR.
 */
import { isVersionLabel } from '@graylane/core';
import { META_NAME } from './constants.js';

/**
 * The version the server rendered this page for, from `<meta name="graylane-version">` (written
 * by `grayMetadata()`): in `<head>`, else anywhere in the page — Next streams the metadata of a
 * dynamic page into the body once it resolves. Undefined during SSR, without the tag, or when
 * several tags disagree. Pass it to `initGray({ serverVersion })` so the client starts on the
 * server's lane (no flash); the browser never stores a hand-off.
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
    if (typeof document != 'object' || document === null) return undefined;
    // `<head>` first; a streamed body meta only when the head has none. Several that disagree
    // name no version, like two cookies (CK-02).
    const selector = `meta[name="${META_NAME}"]`;
    const inHead = document.head?.querySelectorAll<HTMLMetaElement>(selector);
    const metas = inHead?.length ? inHead : document.querySelectorAll<HTMLMetaElement>(selector);
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
