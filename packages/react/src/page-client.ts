import { MAX_RAW_MARKER_BYTES, VERSION_PATTERN, trimOws } from '@graylane/core';
import { initGray, type GrayClient, type GrayListener, type GrayOptions } from '@graylane/browser';

// One client per page (per `document`) and options, shared by every copy of this package through
// a registered symbol. React renders a component twice under StrictMode, again on HMR, and may
// render a tree it then throws away; `initGray` must not persist or report twice for one page view.
const PAGES = Symbol.for('@graylane/react:page-clients');
/** The tag `split()` and `rulesFromConfig()` put on the rules they make (their inputs). */
const RULES_KEY = Symbol.for('@graylane/browser:rules-key');
/**
 * Under this key (the browser SDK's page-client symbol) `initGray` takes a hold: every effect — a
 * cookie write, `onAssign`, becoming the page's default client — is passed to it instead of run,
 * and a call without one (a QA call) asks for everything kept so far to run first.
 */
const HOLD = Symbol.for('@graylane/browser:client');

/** @internal A client made for a provider, and the options it was made from. */
export interface Entry {
  /** The options by value — see {@link optionsKey}. */
  readonly text: string;
  /** What must be the same object for another provider to share the client. */
  readonly refs: readonly unknown[];
  readonly client: GrayClient;
  /** Runs the client's kept effects (persists, reports and registers it), once. */
  commit?: () => void;
  /** The `onAssign` of the latest commit: the client calls whichever is current. */
  onAssign?: GrayListener | undefined;
}

/** @internal True in a browser page; false during SSR (Node, workerd, server components). */
export function hasPage(): boolean {
  return typeof document == 'object' && typeof location == 'object';
}

/** Clients kept per page for providers that mount later: the 8 used last. */
const MAX_CLIENTS = 8;

function pages(): WeakMap<object, Entry[]> {
  const g = globalThis as { [PAGES]?: WeakMap<object, Entry[]> };
  return (g[PAGES] ??= new WeakMap());
}

/**
 * @internal What makes two renders' options the same client. `text`: every option by value —
 * RegExps by source and flags, rules made by `split()`/`rulesFromConfig()` by their inputs, other
 * functions by their source text (so options built inline keep one client; an HMR edit makes a
 * new one). `refs`: those other functions and the `cookies` jar, which another provider must
 * share by identity — two rules from one factory, or `.bind` results, have one source text.
 * `onAssign` is left out: the latest commit's listener is called (one exposure per page).
 */
export function optionsKey(options: GrayOptions): Pick<Entry, 'text' | 'refs'> {
  const refs: unknown[] = [];
  const replace = function replace(this: unknown, key: string, value: unknown) {
    if (this === options) {
      if (key === 'onAssign') return undefined;
      // By identity only: a jar may hold anything (a consent manager, circular references).
      if (key === 'cookies') return refs.push(value);
    }
    if (value instanceof RegExp) return String(value);
    if (typeof value === 'function') {
      const tag = (value as { [RULES_KEY]?: unknown })[RULES_KEY];
      if (typeof tag === 'string') return `rules:${tag}`;
      refs.push(value);
      return `fn:${String(value)}`;
    }
    return value;
  };
  try {
    return { text: JSON.stringify(options, replace), refs };
  } catch {
    // Options JSON cannot spell (a circular reference, a BigInt): the same object is the same
    // client; an equal one made again is a new one. Never a failed render.
    return { text: '', refs: [options] };
  }
}

/**
 * @internal The client for a provider, computed during render with no side effect: the
 * provider's own client (`mine`, committed) while its options keep their {@link optionsKey}
 * text; else one another provider made from the same options (same text and `refs`); else a
 * new one, deferred — the provider commits it (cookie, `onAssign`, the page's default client)
 * when React commits the render, so a render React throws away leaves nothing behind. A mounted
 * provider keeps its client however many others come and go. During SSR: a fresh inert client
 * per render (no global state, so concurrent requests never share one).
 */
export function entryFor(
  options: GrayOptions,
  serverVersion: string | undefined,
  mine: Entry | undefined,
): Entry {
  const withServer = serverVersion === undefined ? options : { ...options, serverVersion };
  if (!hasPage()) return { text: '', refs: [], client: initGray(withServer) };
  const { text, refs } = optionsKey(withServer);
  const all = pages();
  const page = all.get(document) ?? [];
  const make = (): Entry => {
    // What `initGray` does beyond computing the version waits here until React commits.
    let held: Array<() => void> | undefined = [];
    const commit = (): void => {
      const effects = held;
      held = undefined;
      effects?.map((effect) => effect());
    };
    // `onAssign` from the start: a child's layout effect (which runs before the provider's) may
    // commit the client through a QA call, and its exposures must reach the app.
    const next: { -readonly [K in keyof Entry]?: Entry[K] } = {
      text,
      refs,
      onAssign: options.onAssign,
      commit,
    };
    next.client = initGray({
      ...withServer,
      onAssign: (v, r) => next.onAssign?.(v, r),
      // An effect is kept until the commit and runs at once after it; a call without one (a QA
      // call) commits.
      [HOLD]: (effect?: () => void) => (effect ? (held ? held.push(effect) : effect()) : commit()),
    } as GrayOptions);
    return next as Entry;
  };
  const entry =
    (mine?.text === text
      ? mine
      : page.find((e) => e.text === text && e.refs.every((r, i) => r === refs[i]))) ?? make();
  // Least recently used first: a provider that renders again keeps its client in the cache.
  all.set(document, [...page.filter((e) => e !== entry), entry].slice(-MAX_CLIENTS));
  return entry;
}

/**
 * @internal The version the server rendered this page for, as `useSyncExternalStore`'s server
 * snapshot: the `serverVersion` prop when valid, else the client's own hand-off (`initGray`'s
 * `serverVersion`, else the `<head>` meta), checked like the browser SDK checks it (at most 64
 * bytes, OWS trimmed, one of `versions`), else the configured default — never the client's own
 * version, which a cookie, rules or `?gray=` may have set after the server rendered. The same
 * function runs during SSR (on the inert client) and during hydration, on the same inputs, so
 * the two always agree.
 */
export function serverSnapshotFor(
  client: GrayClient,
  options: GrayOptions | undefined,
  serverVersion: string | undefined,
): string {
  // A prop outside `versions` counts as absent: then the client's own hand-off, as without one.
  // A client from an older @graylane/browser has no `defaultVersion`: its version, as before.
  return (
    checked(serverVersion, options?.versions ?? client.versions) ??
    client.serverVersion ??
    options?.default ??
    client.defaultVersion ??
    client.getGrayVersion()
  );
}

/**
 * @internal A `serverVersion` prop or a `default` as one of `versions` (the options', else the
 * given client's: the closed world, I2), or `undefined` (also for a non-string).
 */
export function checked(raw: unknown, versions: readonly string[] | undefined): string | undefined {
  const v = typeof raw != 'string' || raw.length > MAX_RAW_MARKER_BYTES ? '' : trimOws(raw);
  // A client from an older @graylane/browser has no `versions`: any label, as before.
  return (versions ? versions.includes(v) : VERSION_PATTERN.test(v)) ? v : undefined;
}
