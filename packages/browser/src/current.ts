import type { GrayClient } from './client.js';
import type { GrayListener } from './options.js';

/** @internal The page's current client and how `initGray` made it (to recognise a repeat). */
export interface Current {
  readonly client: GrayClient;
  readonly key: readonly unknown[];
  /** Replaces the `onAssign` listener without firing it. */
  readonly listen: (onAssign: GrayListener | undefined) => void;
}

/**
 * @internal Process-wide (one per page): the page's client is kept on globalThis under this
 * registered symbol so every bundle copy (the ESM and CJS builds, the `axios` subpath, a
 * duplicated package, the standalone build) sees the same default client. Written by initGray in
 * a page only, never during SSR. Under the same key in `initGray`'s options, React's provider
 * passes a {@link Hold}: what would make the client the page's one waits for React's commit.
 */
export const KEY = Symbol.for('@graylane/browser:client');

/**
 * @internal Runs an effect of `initGray` — a cookie write, `onAssign`, the registration — or
 * keeps it for later; called with none, runs everything kept (a QA call commits first). React's
 * provider passes one that keeps effects until React commits the render (so a render React
 * throws away leaves nothing behind); without one, every effect runs at once.
 */
export type Hold = (effect?: () => void) => unknown;

/** @internal The page's current client record, if `initGray` ran in this page. */
export const current = (): Current | undefined =>
  (globalThis as Record<symbol, Current | undefined>)[KEY];

/** @internal The explicit client, else the one `initGray` created last, else none. */
export function clientOr(client: GrayClient | undefined): GrayClient | undefined {
  return client ?? current()?.client;
}
