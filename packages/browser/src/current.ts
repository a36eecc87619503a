import type { GrayClient } from './client.js';

// Kept on globalThis under a registered symbol so every bundle copy (the ESM and CJS builds, the
// `axios` subpath, a duplicated package) sees the same default client. Written by initGray only.
const KEY = Symbol.for('graylane.browser.client');

/** @internal Records the client that `initGray` created last. */
export function setCurrentClient(client: GrayClient): void {
  (globalThis as Record<symbol, unknown>)[KEY] = client;
}

/** @internal The explicit client, else the one `initGray` created last, else none. */
export function clientOr(client: GrayClient | undefined): GrayClient | undefined {
  return client ?? ((globalThis as Record<symbol, unknown>)[KEY] as GrayClient | undefined);
}
