import { createAllowlist } from '@graylane/core';
import type { DecisionReason } from '@graylane/core';
import { assign, type Assignment, type Sources } from './assign.js';
import { defaultCookieJar } from './cookie-jar.js';
import { current, setCurrent } from './current.js';
import { hasPage } from './env.js';
import { serverHandOff } from './hand-off.js';
import { createSlot } from './jar.js';
import { readMarker } from './marker.js';
import {
  cookieSettings,
  versionSet,
  type GrayCookieOptions,
  type GrayListener,
  type GrayOptions,
} from './options.js';
import { optionsKey, sameKey } from './same-options.js';
import { resolveUrl } from './url.js';

/** Fields to attach to analytics events, so every exposure can be attributed. */
export interface GrayTrackingFields {
  readonly gray_version: string;
  readonly gray_reason: DecisionReason;
}

/** The part of `Headers` (fetch, axios, XHR adapters) a response is read through. */
export interface ResponseHeadersLike {
  get(name: string): unknown;
}

/** A browser client: the assigned version, QA switching, change events and propagation. */
export interface GrayClient {
  /** The marker header name, e.g. `X-Gray-Id`. */
  readonly header: string;
  readonly debug: boolean;
  getGrayVersion(): string;
  /** Why the current version was assigned. */
  getGrayReason(): DecisionReason;
  /** QA switching: assigns and persists `version`; `false` (no throw) for an unknown one. */
  setGrayVersion(version: string): boolean;
  /** Forgets the stored and overridden version and assigns again from rules or the default. */
  clearGrayVersion(): void;
  /** Calls `listener(version, reason)` on every change; returns the unsubscribe function. */
  subscribe(listener: GrayListener): () => void;
  /** `{ gray_version, gray_reason }` for analytics events. */
  getTrackingFields(): GrayTrackingFields;
  /** The marker to send to `url`, or `undefined` when `url` may not receive it (I8). */
  markerFor(url: string): string | undefined;
  /** Adopts a version the server assigned on an allowed response (`X-Gray-Id` or `Set-Cookie`). */
  readResponse(url: string, headers: ResponseHeadersLike): void;
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
  const own = page && /^https?:$/.test(location.protocol) ? location.origin : undefined;
  const allowlist = createAllowlist({ origin: own, allow: options.allow });
  const server = page ? serverHandOff(options.serverVersion) : options.serverVersion;
  const key = optionsKey(options, server);
  const last = page ? current() : undefined;
  if (last && sameKey(last.key, key)) {
    last.listen(options.onAssign);
    return last.client;
  }
  const header = options.header ?? 'X-Gray-Id';
  const settings = page ? cookieSettings(options.cookie) : undefined;
  const jar = options.cookies ?? defaultCookieJar();
  const names: GrayCookieOptions = options.cookie || {};
  const secure = page && location.protocol === 'https:';
  const slot = createSlot(names.name ?? 'gray', settings, jar, secure);
  const aid = createSlot(names.anonymousIdName ?? 'gray_aid', settings, jar, secure);
  const sources: Sources = { versions, options, slot, aid, server, page };
  let onAssign = page ? options.onAssign : undefined;
  const listeners = new Set<GrayListener | undefined>([onAssign]);
  let version = '';
  let reason: DecisionReason = 'default';
  let seen: string | undefined;

  const commit = (a: Assignment): void => {
    if (a.persist === true) slot.write(a.version);
    else if (a.persist) slot.remove();
    seen = slot.read();
    const changed = a.version !== version;
    version = a.version;
    reason = a.reason;
    for (const listener of changed ? listeners : []) {
      try {
        listener?.(version, reason);
      } catch {
        // A listener's bug must not break assignment or the request that triggered it.
      }
    }
  };

  const client: GrayClient = {
    header,
    debug: options.debug === true,
    getGrayVersion: () => version,
    getGrayReason: () => reason,
    setGrayVersion(v) {
      const m = readMarker(versions, v);
      if (m && 'version' in m) commit({ version: m.version, reason: 'manual', persist: true });
      return version === v && reason === 'manual';
    },
    clearGrayVersion() {
      slot.remove();
      commit(assign(sources, true));
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    getTrackingFields: () => ({ gray_version: version, gray_reason: reason }),
    markerFor(url) {
      const href = page ? resolveUrl(url)?.href : undefined;
      return href !== undefined && allowlist.allows(href) ? version : undefined;
    },
    readResponse(url, headers) {
      // A page-only QA override wins over the server until cleared or replaced.
      if (reason === 'override' || client.markerFor(url) === undefined) return;
      let value: unknown;
      try {
        value = headers.get(header);
      } catch {
        // Unreadable headers: treat as absent.
      }
      const fromHeader = readMarker(versions, typeof value === 'string' ? value : undefined);
      const cookie = slot.read();
      // A cookie that changed since we last looked was set by the server (Set-Cookie).
      const m =
        fromHeader && 'version' in fromHeader
          ? fromHeader
          : cookie !== seen
            ? readMarker(versions, cookie)
            : undefined;
      seen = cookie;
      if (m && 'version' in m && m.version !== version) {
        commit({ version: m.version, reason: 'server', persist: m === fromHeader });
      }
    },
  };
  commit(assign(sources, false));
  // Reading repairs copies of the name on other paths, so servers see one anonymous id (STK-04).
  aid.read();
  if (page)
    setCurrent({
      client,
      key,
      listen(next) {
        listeners.delete(onAssign);
        listeners.add((onAssign = next));
      },
    });
  return client;
}
