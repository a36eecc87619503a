import { createElement, useMemo, type ReactNode } from 'react';
import { GraylaneError } from '@graylane/core';
import type { GrayClient, GrayOptions } from '@graylane/browser';
import { GrayContext, type GrayContextValue } from './context.js';
import { clientFor, serverSnapshotFor } from './page-client.js';

/** Props of {@link GrayProvider}: `options` (a client is made for you) or your own `client`. */
export interface GrayProviderProps {
  /** `initGray` options. The page gets one client, made on the first render. */
  readonly options?: GrayOptions;
  /** A client you made with `initGray` yourself (then `options` only supply the default). */
  readonly client?: GrayClient;
  /**
   * The version the server rendered this page for (`getGrayVersion()` on the server). Pass the
   * same value on the server and in the browser; in the browser it may be left out when the page
   * has `<meta name="graylane-version">` (the asset-lane gateway injects it).
   */
  readonly serverVersion?: string | undefined;
  readonly children?: ReactNode;
}

/**
 * Gives the tree one graylane client and the server's decision. On the server it renders the
 * server's version; in the browser the same version hydrates (no mismatch), then the hooks
 * follow the client (a QA `setGrayVersion`; responses never switch a page view). Safe under
 * StrictMode: one client and one exposure event (`onAssign`) per page, however often React
 * renders; options that change by value (an HMR edit) make a new client.
 *
 * @throws GraylaneError `INVALID_OPTIONS` without `options` and `client`, or for invalid options.
 * @example
 * ```ts
 * import { createElement as h } from 'react';
 * import { hydrateRoot } from 'react-dom/client';
 * import { GrayProvider } from '@graylane/react';
 *
 * const options = { versions: ['stable', 'beta'], default: 'stable' };
 * hydrateRoot(document.getElementById('app')!, h(GrayProvider, { options }, h(App)));
 * ```
 */
export function GrayProvider(props: GrayProviderProps): ReactNode {
  const { options, client: given, serverVersion } = props;
  if (!options && !given) {
    throw new GraylaneError('INVALID_OPTIONS', 'GrayProvider needs `options` or a `client`');
  }
  const client = given ?? clientFor(options as GrayOptions, serverVersion);
  const defaultVersion = options?.default;
  // The options object may be new on every render; what matters is the client it resolves to.
  const value = useMemo<GrayContextValue>(() => {
    const serverSnapshot = serverSnapshotFor(client, options, serverVersion);
    return {
      client,
      defaultVersion,
      subscribe: (onChange) => client.subscribe(() => onChange()),
      getSnapshot: () => client.getGrayVersion(),
      getServerSnapshot: () => serverSnapshot,
    };
  }, [client, serverVersion, defaultVersion]);
  return createElement(GrayContext.Provider, { value }, props.children);
}
