/**
 * `@graylane/next/client` — browser-side helpers for Next.js client components. No React and no
 * Next imports: safe in any client bundle, inert during SSR.
 */
import { isVersionLabel, MAX_RAW_MARKER_BYTES } from '@graylane/core';
import { META_NAME } from './constants.js';

/**
 * The version the server rendered this page for, from `<meta name="graylane-version">` in the
 * document's `<head>` (written there by `<GrayMeta />`). Read exactly as `initGray` reads its
 * hand-off, so the two always agree: a meta in `<body>` is never read — it may be content the
 * page echoes (user input, a CMS fragment), not the server's hand-off; several head metas that
 * disagree name no version, like two cookies (CK-02); spaces and tabs around the label are
 * trimmed. Undefined during SSR, without the tag, or when it is not a version label. Pass it to
 * `initGray({ serverVersion })` so the client starts on the server's lane (no flash); the
 * browser never stores a hand-off.
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
    const metas = document.head?.querySelectorAll<HTMLMetaElement>(`meta[name="${META_NAME}"]`);
    let found: string | undefined;
    for (let i = 0; i < (metas?.length ?? 0); i++) {
      const content = metas?.item(i)?.content;
      if (found !== undefined && found !== content) return undefined;
      found = content;
    }
    if (found === undefined || found.length > MAX_RAW_MARKER_BYTES) return undefined;
    const label = found.replace(/^[ \t]+|[ \t]+$/g, '');
    return isVersionLabel(label) ? label : undefined;
  } catch {
    return undefined;
  }
}

export { META_NAME } from './constants.js';
