import type { DecisionReason } from '@graylane/core';
import { anonymousId } from './anonymous-id.js';
import type { Slot } from './jar.js';
import { readMarker } from './marker.js';
import type { GrayOptions } from './options.js';
import { readQuery } from './read.js';

/**
 * @internal Applies an assignment: the version, why, and what happens to the cookie (`true`
 * writes it; `'remove'` deletes an invalid one; `false` leaves it).
 */
export type Commit = (version: string, reason: DecisionReason, persist: boolean | 'remove') => void;

/**
 * @internal The assignment order: query override (opt-in) → server hand-off (`server`:
 * `serverVersion`, else the `graylane-version` meta tag) → cookie → client-side rules → default.
 * Invalid markers count as absent (I3) and are reported as the reason when the default is
 * served. Without a page (SSR) there is no query and no rules (they would bucket a random id).
 * The returned function assigns through `commit`; `fresh` skips the override, the hand-off and
 * the cookie.
 */
export function assigner(
  versions: ReadonlySet<string>,
  o: GrayOptions,
  page: boolean,
  server: unknown,
  slot: Slot,
  aid: Slot,
  commit: Commit,
): (fresh: boolean) => void {
  const param = o.override === true ? 'gray' : o.override;
  const rules = (): { readonly version: string; readonly reason: DecisionReason } | undefined => {
    try {
      const d = o.rules?.({ anonymousId: anonymousId(aid), defaultVersion: o.default });
      return d && versions.has(d.version) && d.reason !== 'default' ? d : undefined;
    } catch {
      // A throwing rule is a rule that did not match (BR-14 spirit: never throw into the page).
      return undefined;
    }
  };
  return (fresh) => {
    let rejected: DecisionReason | undefined;
    let stored: string | undefined;
    const use = (raw: unknown, reason: DecisionReason, persist: boolean) => {
      const version = readMarker(versions, raw, (why) => (rejected ??= why));
      if (version) commit(version, reason, persist);
      return version;
    };
    if (
      !fresh &&
      ((page &&
        param &&
        use(readQuery(location.search, param), 'override', o.persistOverride === true)) ||
        // The page was rendered for this version: it rules this page view and is never stored.
        // Persisting is the server's job (its sticky cookie): the page cannot tell a durable
        // decision from one for this view only (a query or header marker, the default: STK-02,
        // WT-03), a signed token it cannot mint (STK-01) or a cookie a sibling planted (MISC-04).
        // Read the cookie first anyway, once: reading it also repairs the jar (STK-04, CK-02).
        ((stored = slot.read()), use(server, 'server', false)) ||
        use(stored, 'cookie', false))
    )
      return;
    const ruled = page && rules();
    const remove = rejected !== undefined && 'remove';
    // Only a non-default result is stored: the rest re-evaluate, so a ramp-up reaches them (WT-03).
    if (ruled) commit(ruled.version, ruled.reason, ruled.version !== o.default || remove);
    else commit(o.default, rejected ?? 'default', remove);
  };
}
