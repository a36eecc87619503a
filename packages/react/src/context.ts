import { createContext, type Context } from 'react';
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

const CONTEXTS = Symbol.for('@graylane/react:contexts');

/**
 * @internal One context per copy of React in the process, whichever build of this package made
 * it: the ESM and the CommonJS entry (an ESM app under a component library compiled to CommonJS,
 * or a bundler resolving `require()` to the CJS entry) each ran `createContext`, so a hook from
 * one never found a provider from the other (NO_CONTEXT). Keyed by React's own `createContext`,
 * so two Reacts in one process still keep theirs apart.
 */
export const GrayContext: Context<GrayContextValue | undefined> = (() => {
  const g = globalThis as { [CONTEXTS]?: Map<unknown, Context<GrayContextValue | undefined>> };
  const contexts = (g[CONTEXTS] ??= new Map());
  let context = contexts.get(createContext);
  if (context === undefined)
    contexts.set(createContext, (context = createContext<GrayContextValue | undefined>(undefined)));
  return context;
})();
