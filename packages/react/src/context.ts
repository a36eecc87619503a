import { createContext } from 'react';
import type { GrayClient } from '@graylane/browser';

/** @internal What `GrayProvider` shares with the hooks. */
export interface GrayContextValue {
  readonly client: GrayClient;
  /** The configured default version, when known (options given): the last branch fallback. */
  readonly defaultVersion: string | undefined;
  /** `client.subscribe` adapted to `useSyncExternalStore` (stable per client). */
  readonly subscribe: (onChange: () => void) => () => void;
  /** The client's current version (the store snapshot). */
  readonly getSnapshot: () => string;
  /** The version the server rendered the page for: the SSR and hydration snapshot. */
  readonly getServerSnapshot: () => string;
}

/** @internal */
export const GrayContext = createContext<GrayContextValue | undefined>(undefined);
