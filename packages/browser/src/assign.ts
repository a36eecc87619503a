import type { DecisionReason } from '@graylane/core';
import { anonymousId } from './anonymous-id.js';
import type { Slot } from './jar.js';
import { readMarker, type MarkerRead } from './marker.js';
import type { GrayOptions } from './options.js';
import { readPairs } from './read.js';

/** @internal An assignment: the version, why, and what happens to the cookie. */
export interface Assignment {
  readonly version: string;
  readonly reason: DecisionReason;
  /** `true` writes the cookie; `'remove'` deletes an invalid one; `false` leaves it. */
  readonly persist: boolean | 'remove';
}

/** @internal What the assignment reads from. */
export interface Sources {
  readonly versions: ReadonlySet<string>;
  readonly options: GrayOptions;
  readonly slot: Slot;
  readonly aid: Slot;
  /** The server hand-off: `serverVersion`, else the `graylane-version` meta tag. */
  readonly server: string | undefined;
  /** False during SSR: no query, no rules (they would bucket a random id), memory only. */
  readonly page: boolean;
}

/**
 * @internal The assignment order: query override (opt-in) → server hand-off → cookie →
 * client-side rules → default. Invalid markers count as absent (I3) and are reported as the
 * reason when the default is served. `fresh` skips the override, the hand-off and the cookie.
 */
export function assign(s: Sources, fresh: boolean): Assignment {
  const { versions, options: o, slot, page } = s;
  let rejected: DecisionReason | undefined;
  const use = (m: MarkerRead, reason: DecisionReason, persist: boolean): Assignment | undefined => {
    if (m && 'version' in m) return { version: m.version, reason, persist };
    rejected ??= m?.rejected;
    return undefined;
  };
  const param = o.override === true ? 'gray' : o.override;
  const found =
    fresh ||
    (page &&
      param &&
      use(
        readMarker(versions, readPairs(location.search.slice(1), '&', param)),
        'override',
        o.persistOverride === true,
      )) ||
    // The page was rendered for this version: it rules this page view and aligns the cookie.
    use(readMarker(versions, s.server), 'server', true) ||
    use(readMarker(versions, slot.read()), 'cookie', false);
  if (found && found !== true) return found;
  const ruled = page && rules(s);
  // Only a non-default result is stored: the rest re-evaluate, so a ramp-up reaches them (WT-03).
  if (ruled)
    return {
      ...ruled,
      persist: ruled.version !== o.default || (rejected !== undefined && 'remove'),
    };
  return {
    version: o.default,
    reason: rejected ?? 'default',
    persist: rejected !== undefined && 'remove',
  };
}

function rules({ versions, options: o, aid }: Sources): Omit<Assignment, 'persist'> | undefined {
  try {
    const d = o.rules?.({ anonymousId: anonymousId(aid), defaultVersion: o.default });
    return d && versions.has(d.version) && d.reason !== 'default' ? d : undefined;
  } catch {
    // A throwing rule is a rule that did not match (BR-14 spirit: never throw into the page).
    return undefined;
  }
}
