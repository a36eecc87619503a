/** The source URL, checked once: usable, or why it can never work. */
export type SourceUrl =
  | { readonly ok: true; readonly url: URL; readonly display: string }
  | { readonly ok: false; readonly reason: string; readonly display: string };

/**
 * Checks the source URL at construction: an absolute `http:` or `https:` URL without
 * credentials in it (fetch refuses `user:password@` URLs, so such a source could never work, and
 * its password would be printed with every failure). A URL that can never work is reported, never
 * thrown: the source stops at start with this reason (FLT-04: retrying cannot help).
 *
 * @example
 * ```ts
 * checkSourceUrl('https://config.internal/graylane.json'); // { ok: true, url, display }
 * checkSourceUrl('https://ops:secret@config.internal/x');  // { ok: false, reason: '… credentials …' }
 * ```
 */
export function checkSourceUrl(input: string | URL): SourceUrl {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return {
      ok: false,
      reason: '`url` is not an absolute http:// or https:// URL',
      display: '(invalid url)',
    };
  }
  const display = displayUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return {
      ok: false,
      reason: `\`url\` must be http:// or https://, not ${url.protocol} (a local file: createFileSource)`,
      display,
    };
  if (url.username !== '' || url.password !== '')
    return {
      ok: false,
      reason:
        "`url` holds credentials (user:password@); they are never sent from a URL: pass them in `headers`, e.g. { authorization: 'Basic …' }",
      display,
    };
  return { ok: true, url, display };
}

/**
 * The URL as logs and the status may show it: no credentials and no query (a presigned URL's
 * signature or a `?token=` is a secret), just origin and path, with `?…` when a query was there.
 *
 * @example
 * ```ts
 * displayUrl(new URL('https://cdn.example/rules.json?sig=abc')); // 'https://cdn.example/rules.json?…'
 * ```
 */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}`;
}
