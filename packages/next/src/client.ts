/**
 * `@graylane/next/client` — browser-side helpers for Next.js client components. No React and no
 * Next imports: safe in any client bundle, inert during SSR.
 */
import { isVersionLabel } from '@graylane/core';
import { META_NAME } from './constants.js';

/**
 * The version the server rendered this page for, from `<meta name="graylane-version">`
 * (written by `grayMetadata()`), or undefined during SSR / without the tag. Pass it to
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
    const doc = (
      globalThis as {
        document?: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
      }
    ).document;
    const value = doc?.querySelector(`meta[name="${META_NAME}"]`)?.getAttribute('content');
    return typeof value === 'string' && isVersionLabel(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export { META_NAME } from './constants.js';
