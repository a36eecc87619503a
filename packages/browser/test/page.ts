import { initGray, type GrayClient, type GrayOptions } from '../src/index.js';

// Shared helpers of the happy-dom tests: one test file is one "page", so a test that needs a new
// page view (a reload) forgets the page's current client, as a navigation would.

/** Moves the happy-dom page to `url` (same document: the SDK's registry survives, as in an SPA). */
export function at(url: string): void {
  (window as unknown as { happyDOM: { setURL(u: string): void } }).happyDOM.setURL(url);
}

/** A reload: the next `initGray` starts from scratch instead of returning the current client. */
export function reload(url?: string): void {
  Reflect.deleteProperty(globalThis, Symbol.for('@graylane/browser:client'));
  if (url !== undefined) at(url);
}

/**
 * Expires every cookie the page can see (Path=/), by a past `Expires`: happy-dom keeps a
 * `Max-Age=0` cookie (empty) until its clock ticks, and a read in the same millisecond saw it.
 */
export function clearCookies(): void {
  for (const pair of document.cookie.split('; ').filter(Boolean))
    document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT${
      /^__(Host|Secure)-/.test(pair) ? '; Secure' : ''
    }`;
}

/** `initGray` on a new page view (a reload): it reads the cookies afresh. */
export function initOnReload(options: GrayOptions): GrayClient {
  reload();
  return initGray(options);
}
