import type { GrayClient } from './client.js';
import type { InitRecord } from './same-options.js';

// Process-wide (one per page): kept on globalThis under registered symbols so every bundle copy
// (the ESM and CJS builds, the `axios` subpath, a duplicated package, the standalone build) sees
// the same default client. Written by initGray in a page only, never during SSR.
const CLIENT = Symbol.for('@graylane/browser:client');
const RECORD = Symbol.for('@graylane/browser:init');

type Registry = Record<symbol, unknown>;

/** @internal Records the client that `initGray` created last, with how it was made. */
export function setCurrentClient(client: GrayClient, record: InitRecord): void {
  (client as unknown as Registry)[RECORD] = record;
  (globalThis as Registry)[CLIENT] = client;
}

/** @internal The page's current client and how it was made, if `initGray` ran in this page. */
export function currentClient(): [GrayClient, InitRecord] | undefined {
  const client = (globalThis as Registry)[CLIENT] as GrayClient | undefined;
  const record = (client as unknown as Registry | undefined)?.[RECORD] as InitRecord | undefined;
  return client && record ? [client, record] : undefined;
}

/** @internal The explicit client, else the one `initGray` created last, else none. */
export function clientOr(client: GrayClient | undefined): GrayClient | undefined {
  return client ?? ((globalThis as Registry)[CLIENT] as GrayClient | undefined);
}
