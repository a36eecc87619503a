import type { DecisionReason } from '@graylane/core';
import { allowlist, HTTP } from './allow.js';
import { heldIds } from './anonymous-id.js';
import { assigner, type Commit } from './assign.js';
import { current, KEY, type Current, type Hold } from './current.js';
import { hasPage } from './env.js';
import { serverHandOff } from './hand-off.js';
import { createSlot, type Slot } from './jar.js';
import { readMarker } from './marker.js';
import { versionSet, type GrayListener, type GrayOptions } from './options.js';
import { optionsKey } from './same-options.js';

/** Fields to attach to analytics events, so every exposure can be attributed. */
export interface GrayTrackingFields {
  readonly gray_version: string;
  readonly gray_reason: DecisionReason;
}

/** A browser client: the assigned version, QA switching, change events and propagation. */
export interface GrayClient {
  /** The marker header name, e.g. `X-Gray-Id`. */
  readonly header: string;
  /** The closed set of versions this client assigns and sends (its `versions` option). */
  readonly versions: readonly string[];
  /**
   * The version the server rendered this page for — `serverVersion`, else the `<head>` meta —
   * when it is one of `versions`; else `undefined`. The same on the server (the inert client) and
   * in the page, so a framework can hydrate from it without a mismatch.
   */
  readonly serverVersion: string | undefined;
  /**
   * The configured default version (its `default` option): what a server renders when nothing
   * else applies, so a framework can hydrate from it whatever this page's cookie or rules say.
   */
  readonly defaultVersion: string;
  getGrayVersion(): string;
  /** Why the current version was assigned. */
  getGrayReason(): DecisionReason;
  /**
   * QA switching: assigns and persists `version` (surrounding spaces and tabs trimmed, as in every
   * marker). `false` (no throw) for an unknown one, or when
   * the cookie could not be written — a server's `HttpOnly` cookie of the same name (serve it
   * with `sticky: { httpOnly: false }`) or cookies refused: the page switches, a reload would not.
   */
  setGrayVersion(version: string): boolean;
  /** Forgets the stored and overridden version and assigns again from rules or the default. */
  clearGrayVersion(): void;
  /**
   * Calls `listener(version, reason)` whenever the version or the reason changes (a QA choice of
   * the version on screen changes the reason to `manual`); returns the unsubscribe function.
   * `onAssign` (exposure) is called only when the version changes.
   */
  subscribe(listener: GrayListener): () => void;
  /** `{ gray_version, gray_reason }` for analytics events. */
  getTrackingFields(): GrayTrackingFields;
  /** The marker to send to `url`, or `undefined` when `url` may not receive it (I8). */
  markerFor(url: string): string | undefined;
}

/**
 * Assigns this page's version and returns the client. Synchronous; throws only for invalid
 * options (`INVALID_OPTIONS`), in a page and during SSR alike.
 *
 * - In a page, the order is: `?gray=` override (opt-in) → the server hand-off (`serverVersion`,
 *   else `<meta name="graylane-version" content="…">`) → cookie → `rules` → `default`. The
 *   client becomes the default one of `withGray`, `installFetch`, `installXHR` and `attachGray`.
 * - Called again with the same options (React StrictMode, HMR), it returns the same client and
 *   reports no second exposure; a new `onAssign` replaces the old one. With different options it
 *   makes a new client, which becomes the default one.
 * - Without a page (Node, workerd, React server components) it returns an inert client: the
 *   server hand-off or the default, no cookies, no rules, no propagation, no `onAssign`.
 *
 * @example
 * ```ts
 * const gray = initGray({
 *   versions: ['stable', 'beta'],
 *   default: 'stable',
 *   rules: split({ beta: 5 }),
 *   allow: ['https://api.example.com'],
 *   onAssign: (version, reason) => analytics.track('gray_exposure', { version, reason }),
 * });
 * gray.getGrayVersion(); // 'beta' for about 5% of visitors, sticky
 * ```
 */
export function initGray(options: GrayOptions): GrayClient {
  const versions = versionSet(options);
  const page = hasPage();
  const server = serverHandOff(options.serverVersion, page);
  const key = optionsKey(options, server);
  // Every effect — cookie writes, onAssign, listeners, registration — goes through `run`: at once,
  // or kept by React's provider until React commits (the version is computed all the same).
  const run: Hold = (options as { [KEY]?: Hold })[KEY] || ((effect) => effect?.());
  // Only a page registers a client (below), so during SSR there is never a last one.
  const last = current();
  if (last?.key.every((part, i) => part === key[i])) {
    run(() => last.listen(options.onAssign));
    return last.client;
  }
  const allows = allowlist(
    options.allow,
    page && HTTP.test(location.protocol) ? location.origin : undefined,
  );
  const header = options.header ?? 'X-Gray-Id';
  const slot = createSlot(options, 'name', 'gray');
  const ids = createSlot(options, 'anonymousIdName', 'gray_aid');
  // A new anonymous id is used only if the jar keeps it; written when the assignment is committed.
  const aid: Slot = heldIds(ids, run);
  let onAssign = page ? options.onAssign : undefined;
  const listeners = new Set<GrayListener>();
  // Both are set by the first assignment (`assign(false)` below), before anything reads them.
  let version: string;
  let reason: DecisionReason;
  let kept = true;
  const commit: Commit = (next, why, persist) => {
    const changed = next !== version;
    const moved = changed || why !== reason;
    version = next;
    reason = why;
    run(() => {
      if (persist === true) kept = slot.write(next);
      else if (persist) slot.remove();
      // Exposure on a new version only; subscribers also hear a new reason (default → manual).
      for (const listener of [changed ? onAssign : undefined, ...(moved ? listeners : [])])
        try {
          listener?.(next, why);
        } catch {
          // A listener's bug must not break assignment or the request that triggered it.
        }
    });
  };
  const assign = assigner(versions, options, page, server, slot, aid, commit);

  const client: GrayClient = {
    header,
    versions: options.versions,
    serverVersion: readMarker(versions, server),
    defaultVersion: options.default,
    getGrayVersion: () => version,
    getGrayReason: () => reason,
    setGrayVersion(v) {
      run();
      // Read as every marker is: OWS trimmed (HDR-06), so `' beta'` switches to `beta`, and the
      // answer says so (review 69 N1). `m` is undefined for anything not one of `versions`.
      const m = readMarker(versions, v);
      if (m) commit(m, 'manual', true);
      return kept && version === m;
    },
    clearGrayVersion() {
      run();
      slot.remove();
      assign(true);
    },
    subscribe: (listener) => (listeners.add(listener), () => void listeners.delete(listener)),
    getTrackingFields: () => ({ gray_version: version, gray_reason: reason }),
    markerFor(url) {
      try {
        // Resolved the way the browser will, against the document base URL (BR-11: a URL it
        // cannot parse receives nothing, and this never throws).
        const u = new URL(url, document.baseURI);
        // A throwing `exclude` lands in the catch: excluded, never the other way round.
        if (page && allows(u) && !options.exclude?.(u)) return version;
      } catch {
        // Not a URL.
      }
      return undefined;
    },
  };
  assign(false);
  run(() => {
    // Reading repairs copies of the name on other paths, so servers see one anonymous id (STK-04).
    ids.read();
    // The page's default client (only a page has one, so never during SSR).
    if (page)
      (globalThis as { [KEY]?: Current })[KEY] = {
        client,
        key,
        listen: (next) => void (onAssign = next),
      };
  });
  return client;
}
