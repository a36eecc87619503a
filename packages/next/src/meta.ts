import { createElement, type ReactElement } from 'react';
import { META_NAME } from './constants.js';
import { tryGetGrayVersion } from './server.js';

/**
 * `<meta name="graylane-version" content="…">` for the root layout, so the browser SDK starts on
 * the server's version without a flash (`initGray` and `readServerVersion()` read it). An async
 * server component: render it in the root layout outside any `<Suspense>`, and it is part of
 * the first chunk of HTML, in `<head>` — where the browser SDK reads the hand-off. (The
 * `generateMetadata` route, `grayMetadata()`, cannot promise that: Next 15.2+ streams the
 * metadata of a dynamic page into `<body>` once it resolves, and a meta there is never read.)
 * Renders nothing where the proxy did not run.
 *
 * @example
 * ```tsx
 * // app/layout.tsx
 * import { GrayMeta } from '@graylane/next';
 *
 * export default function RootLayout({ children }: { children: React.ReactNode }) {
 *   return (
 *     <html lang="en">
 *       <head>
 *         <GrayMeta />
 *       </head>
 *       <body>{children}</body>
 *     </html>
 *   );
 * }
 * ```
 */
export async function GrayMeta(): Promise<ReactElement | null> {
  const version = await tryGetGrayVersion();
  return version === undefined
    ? null
    : createElement('meta', { name: META_NAME, content: version });
}
