import { createElement, useEffect, useLayoutEffect, useMemo, useRef, type ReactNode } from 'react';
import { GraylaneError } from '@graylane/core';
import type { GrayClient, GrayOptions } from '@graylane/browser';
import { GrayContext, type GrayContextValue } from './context.js';
import { checked, entryFor, hasPage, serverSnapshotFor, type Entry } from './page-client.js';

/** Props of {@link GrayProvider}: `options` (a client is made for you) or your own `client`. */
export interface GrayProviderProps {
  /** `initGray` options. The page gets one client, made on the first render. */
  readonly options?: GrayOptions;
  /** A client you made with `initGray` yourself (then `options` only supply the default). */
  readonly client?: GrayClient;
  /**
   * The version the server rendered this page for (`getGrayVersion()` on the server). Pass the
   * same value on the server and in the browser; in the browser it may be left out when the page
   * has `<meta name="graylane-version">` (the asset-lane gateway injects it). `null` (what a JSON
   * hand-off gives for "none") or any other non-string counts as absent.
   */
  readonly serverVersion?: string | null | undefined;
  readonly children?: ReactNode;
}

/**
 * Gives the tree one graylane client and the server's decision. On the server it renders the
 * server's version; in the browser the same version hydrates (no mismatch), then the hooks
 * follow the client (a QA `setGrayVersion`; responses never switch a page view). Safe under
 * StrictMode: one client and one exposure event (`onAssign`) per page, however often React
 * renders; options that change by value (an HMR edit) make a new client.
 *
 * @throws GraylaneError `INVALID_OPTIONS` without `options` and `client`, for invalid options, or
 * with a `client` for an `options.default` outside `options.versions ?? client.versions`.
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
  const { options, client: given } = props;
  const serverVersion = typeof props.serverVersion == 'string' ? props.serverVersion : undefined;
  const d: unknown = options?.default;
  // With a `client`, `options` supply the default: one of the versions, like initGray checks it.
  if (given ? d !== undefined && checked(d, options?.versions ?? given.versions) !== d : !options)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      given
        ? `GrayProvider: invalid default ${String(d)}`
        : 'GrayProvider needs `options` or a `client`',
    );
  // This provider's committed client: options re-made inline on every render keep it.
  const mine = useRef<Entry>(undefined);
  const entry = given ? undefined : entryFor(options as GrayOptions, serverVersion, mine.current);
  const client = given ?? (entry as Entry).client;
  // Rendering has no side effect; the cookie, the exposure (`onAssign`) and the page's default
  // client happen when React commits this render. Layout phase: before any passive effect (a
  // child's `useEffect` calling `withGray()`) runs. No effects run during SSR.
  (hasPage() ? useLayoutEffect : useEffect)(() => {
    if (entry) {
      entry.onAssign = options?.onAssign;
      entry.commit?.();
      mine.current = entry;
    }
  });
  const defaultVersion = options?.default ?? client.defaultVersion;
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
