import { MAX_RAW_MARKER_BYTES, VERSION_PATTERN, trimOws } from '@graylane/core';
import { initGray, type GrayClient, type GrayListener, type GrayOptions } from '@graylane/browser';

// One client per page (per `document`), shared by every copy of this package through a
// registered symbol. React calls a component's initializers twice under StrictMode and again on
// HMR; `initGray` must not run twice (two exposure events, two cookie writes) for one page view.
const PAGES = Symbol.for('@graylane/react:page-clients');
/** The tag `split()` and `rulesFromConfig()` put on the rules they make (their inputs). */
const RULES_KEY = Symbol.for('@graylane/browser:rules-key');

interface Entry {
  readonly key: string;
  readonly client: GrayClient;
  /** The `onAssign` of the latest render: the client calls whichever is current. */
  onAssign: GrayListener | undefined;
}

/** @internal True in a browser page; false during SSR (Node, workerd, server components). */
export function hasPage(): boolean {
  return typeof document == 'object' && typeof location == 'object';
}

/** Clients kept per page: one per distinct options, for pages with several providers. */
const MAX_CLIENTS = 8;

function pages(): WeakMap<object, Map<string, Entry>> {
  const g = globalThis as { [PAGES]?: WeakMap<object, Map<string, Entry>> };
  return (g[PAGES] ??= new WeakMap());
}

/**
 * @internal What makes two renders' options the same client: every option by value — RegExps by
 * source and flags; rules made by `split()`/`rulesFromConfig()` by their inputs; other functions
 * and cookie jars by their source text, so a component that builds its options inline keeps one
 * client while an HMR edit of any of them makes a new one. `onAssign` is left out: the latest
 * render's listener is called (one exposure per page).
 */
export function optionsKey(options: GrayOptions): string {
  return JSON.stringify(options, function replace(this: unknown, key, value: unknown) {
    if (this === options && key === 'onAssign') return undefined;
    if (value instanceof RegExp) return String(value);
    if (typeof value === 'function') {
      const tag = (value as { [RULES_KEY]?: unknown })[RULES_KEY];
      return typeof tag === 'string' ? `rules:${tag}` : `fn:${String(value)}`;
    }
    return value;
  });
}

/**
 * @internal The client for this provider. In a page: created once per page for each distinct
 * options and reused by every render (StrictMode, remounts, a second provider with the same
 * options) while the options stay the same by {@link optionsKey} and the server's version (prop,
 * else the `<head>` meta that `initGray` reads) stays the same; any other change (an HMR edit of
 * `rules`, `allow`, …) makes a new one, which also becomes the page's default client. Two
 * providers with different options each keep their own client, so re-renders of one never
 * replace the other's (at most {@link MAX_CLIENTS} per page, the oldest dropped). During SSR: a
 * fresh inert client per render (no global state, so concurrent requests never share one).
 */
export function clientFor(options: GrayOptions, serverVersion: string | undefined): GrayClient {
  const withServer = serverVersion === undefined ? options : { ...options, serverVersion };
  if (!hasPage()) return initGray(withServer);
  const key = optionsKey(withServer);
  const all = pages();
  let page = all.get(document);
  if (page === undefined) all.set(document, (page = new Map()));
  const entry = page.get(key);
  if (entry !== undefined) {
    entry.onAssign = options.onAssign;
    return entry.client;
  }
  const next: { -readonly [K in keyof Entry]?: Entry[K] } = { key, onAssign: options.onAssign };
  next.client = initGray({ ...withServer, onAssign: (v, r) => next.onAssign?.(v, r) });
  page.set(key, next as Entry);
  if (page.size > MAX_CLIENTS) page.delete(page.keys().next().value as string);
  return next.client;
}

/**
 * @internal The version the server rendered this page for, as `useSyncExternalStore`'s server
 * snapshot: the `serverVersion` prop when given, else the client's own hand-off (`initGray`'s
 * `serverVersion`, else the `<head>` meta), checked like the browser SDK checks it (at most 64
 * bytes, OWS trimmed, one of `versions`), else the default. The same function runs during SSR
 * (on the inert client) and during hydration, on the same inputs, so the two always agree.
 */
export function serverSnapshotFor(
  client: GrayClient,
  options: GrayOptions | undefined,
  serverVersion: string | undefined,
): string {
  const handed =
    serverVersion === undefined
      ? client.serverVersion
      : checked(serverVersion, options?.versions ?? client.versions);
  return handed ?? options?.default ?? client.getGrayVersion();
}

/**
 * A `serverVersion` prop as one of `versions` (the options', else the given client's: the closed
 * world, I2), or `undefined`.
 */
function checked(raw: string, versions: readonly string[] | undefined): string | undefined {
  const v = raw.length > MAX_RAW_MARKER_BYTES ? '' : trimOws(raw);
  // A client from an older @graylane/browser has no `versions`: any label, as before.
  return (versions ? versions.includes(v) : VERSION_PATTERN.test(v)) ? v : undefined;
}
