import type { GrayClient } from './client.js';
import type { GrayListener } from './options.js';

/** @internal The page's current client and how `initGray` made it (to recognise a repeat). */
export interface Current {
  readonly client: GrayClient;
  readonly key: readonly unknown[];
  /** Replaces the `onAssign` listener without firing it. */
  readonly listen: (onAssign: GrayListener | undefined) => void;
}

// Process-wide (one per page): kept on globalThis under a registered symbol so every bundle copy
// (the ESM and CJS builds, the `axios` subpath, a duplicated package, the standalone build) sees
// the same default client. Written by initGray in a page only, never during SSR.
const KEY = Symbol.for('@graylane/browser:client');

/** @internal The page's current client record, if `initGray` ran in this page. */
export const current = (): Current | undefined =>
  (globalThis as Record<symbol, Current | undefined>)[KEY];

/** @internal Records the client that `initGray` created last. */
export function setCurrent(record: Current): void {
  (globalThis as Record<symbol, Current>)[KEY] = record;
}

/** @internal The explicit client, else the one `initGray` created last, else none. */
export function clientOr(client: GrayClient | undefined): GrayClient | undefined {
  return client ?? current()?.client;
}
