/**
 * `Content-Type` by extension for what front-end builds emit. A closed table, looked up with
 * `Map#get` (never a plain object keyed by request input); anything else is
 * `application/octet-stream`, and `X-Content-Type-Options: nosniff` stops browsers guessing.
 */
const TYPES = new Map<string, string>([
  ['html', 'text/html; charset=utf-8'],
  ['htm', 'text/html; charset=utf-8'],
  // Server-side includes are not run: the file is served as the HTML it is.
  ['shtml', 'text/html; charset=utf-8'],
  // XML: never stamped (see isHtml). No charset: XML says its own (a byte order mark, the XML
  // declaration, else UTF-8), and a charset parameter would override it.
  ['xhtml', 'application/xhtml+xml'],
  ['js', 'text/javascript; charset=utf-8'],
  ['mjs', 'text/javascript; charset=utf-8'],
  ['cjs', 'text/javascript; charset=utf-8'],
  ['css', 'text/css; charset=utf-8'],
  ['json', 'application/json; charset=utf-8'],
  ['map', 'application/json; charset=utf-8'],
  ['webmanifest', 'application/manifest+json; charset=utf-8'],
  ['txt', 'text/plain; charset=utf-8'],
  ['xml', 'application/xml'],
  ['svg', 'image/svg+xml'],
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'],
  ['webp', 'image/webp'],
  ['avif', 'image/avif'],
  ['ico', 'image/x-icon'],
  ['woff', 'font/woff'],
  ['woff2', 'font/woff2'],
  ['ttf', 'font/ttf'],
  ['otf', 'font/otf'],
  ['wasm', 'application/wasm'],
  ['pdf', 'application/pdf'],
  ['mp4', 'video/mp4'],
  ['webm', 'video/webm'],
  ['mp3', 'audio/mpeg'],
]);

const FALLBACK = 'application/octet-stream';

/** The extension of a file name, lower-cased, or `''`. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** The `Content-Type` for a file name. */
export function contentTypeFor(name: string): string {
  return TYPES.get(extensionOf(name)) ?? FALLBACK;
}

/**
 * True for HTML documents (`text/html`: `.html`, `.htm`, `.shtml`): they get the version
 * injected and the lane caching policy. XHTML (`.xhtml`, `application/xhtml+xml`) is not: an
 * XML parser reads it, where the head walk is wrong and an HTML `<meta …>` without `/>` is a
 * fatal error. It is served as it is, from the visitor's lane, with the lane caching policy.
 * The `charset=utf-8` of the HTML types holds for what graylane stamps (send.ts decides it per
 * document); the script, style and text types claim UTF-8 as bundlers write them.
 */
export function isHtml(name: string): boolean {
  const ext = extensionOf(name);
  return ext === 'html' || ext === 'htm' || ext === 'shtml';
}
