import { MAX_RAW_MARKER_BYTES, VERSION_PATTERN, trimOws } from '@graylane/core';
import { initGray, type GrayClient, type GrayOptions } from '@graylane/browser';

/** The meta tag the gateway (or your server) renders: `<meta name="graylane-version">`. */
const META_SELECTOR = 'meta[name="graylane-version"]';

// One client per page (per `document`), shared by every copy of this package through a
// registered symbol. React calls a component's initializers twice under StrictMode and again on
// HMR; `initGray` must not run twice (two exposure events, two cookie writes) for one page view.
const PAGES = Symbol.for('@graylane/react:page-clients');

interface Entry {
  readonly key: string;
  readonly client: GrayClient;
}

/** @internal True in a browser page; false during SSR (Node, workerd, server components). */
export function hasPage(): boolean {
  return typeof document == 'object' && typeof location == 'object';
}

function pages(): WeakMap<object, Entry> {
  const g = globalThis as { [PAGES]?: WeakMap<object, Entry> };
  return (g[PAGES] ??= new WeakMap());
}

/**
 * @internal The client for this provider. In a page: created once per page and reused by
 * every render (StrictMode, remounts, a second provider), unless the versions, the default or
 * the server's version (prop or meta tag) changed. During SSR: a fresh inert client per render (no global state, so
 * concurrent requests never share one).
 */
export function clientFor(options: GrayOptions, serverVersion: string | undefined): GrayClient {
  const withServer = serverVersion === undefined ? options : { ...options, serverVersion };
  if (!hasPage()) return initGray(withServer);
  const key = JSON.stringify([options.versions, options.default, serverVersion ?? metaVersion()]);
  const map = pages();
  const entry = map.get(document);
  if (entry?.key === key) return entry.client;
  const client = initGray(withServer);
  map.set(document, { key, client });
  return client;
}

/**
 * @internal The version the server rendered this page for, as `useSyncExternalStore`'s server
 * snapshot. The same function runs during SSR and during hydration, on the same inputs
 * (`serverVersion`; in the page the meta tag when it is absent), so the two always agree. The
 * check is the browser SDK's: at most 64 bytes, OWS trimmed (HDR-06), then membership in
 * `versions`; anything else means the default (I3).
 */
export function serverSnapshotFor(
  client: GrayClient,
  options: GrayOptions | undefined,
  serverVersion: string | undefined,
): string {
  const handed = serverVersion ?? (hasPage() ? metaVersion() : undefined);
  const raw =
    typeof handed === 'string' && handed.length <= MAX_RAW_MARKER_BYTES ? trimOws(handed) : '';
  if (options) return options.versions.includes(raw) ? raw : options.default;
  return VERSION_PATTERN.test(raw) ? raw : client.getGrayVersion();
}

/** The meta tag's content; several that disagree count as none (like two cookies, CK-02). */
function metaVersion(): string | undefined {
  const contents = new Set<string>();
  for (const meta of document.querySelectorAll<HTMLMetaElement>(META_SELECTOR))
    contents.add(meta.content);
  return contents.size === 1 ? [...contents][0] : undefined;
}
