import { createAllowlist } from '@graylane/core';
import type { DecisionReason } from '@graylane/core';
import { assign, type Assignment, type Sources } from './assign.js';
import { documentCookieJar } from './cookie-jar.js';
import { setCurrentClient } from './current.js';
import { createSlot } from './jar.js';
import { readMarker } from './marker.js';
import {
  cookieSettings,
  versionSet,
  type GrayCookieOptions,
  type GrayListener,
  type GrayOptions,
} from './options.js';
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
 * Assigns this page's version and returns the client. Synchronous; the only call that touches
 * cookies; throws only for invalid options (`INVALID_OPTIONS`). The last client created is the
 * default one of `withGray`, `installFetch`, `installXHR` and `attachGray`.
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
  const header = options.header ?? 'X-Gray-Id';
  const own = /^https?:$/.test(location.protocol) ? location.origin : undefined;
  const allowlist = createAllowlist({ origin: own, allow: options.allow });
  const settings = cookieSettings(options.cookie);
  const jar = options.cookies ?? documentCookieJar;
  const names: GrayCookieOptions = options.cookie || {};
  const slot = createSlot(names.name ?? 'gray', settings, jar);
  const aid = createSlot(names.anonymousIdName ?? 'gray_aid', settings, jar);
  const sources: Sources = { versions, options, slot, aid };
  const listeners = new Set<GrayListener | undefined>([options.onAssign]);
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
      const href = resolveUrl(url)?.href;
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
  setCurrentClient(client);
  return client;
}
