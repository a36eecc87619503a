// Bundled by esbuild for the js-cookie Chromium test: the SDK (from source) with jsCookieJar.
import { initGray } from '../../src/index.js';
import { jsCookieJar } from '../../src/js-cookie.js';

const api = { initGray, jsCookieJar };

/** What the js-cookie test page exposes as `globalThis.graylaneJsCookie`. */
export type JsCookiePageApi = typeof api;

declare global {
  var graylaneJsCookie: JsCookiePageApi;
}

globalThis.graylaneJsCookie = api;
