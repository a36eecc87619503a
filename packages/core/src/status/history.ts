import type { ConfigEvent, ConfigSnapshot, ConfigStore } from '../store/types.js';
import { STATUS_MAX_RULE_IDS } from './limits.js';
import { cleanText, scrubText } from './scrub.js';
import type { ReloadChange, ReloadEntry, ReloadRejection } from './types.js';

/** The last N reloads of one store, newest first. */
export interface ReloadHistory {
  entries(): readonly ReloadEntry[];
  /** Stops listening to the store. Idempotent. */
  close(): void;
}

/**
 * Listens to a store's `change` and `rejected` events and keeps the last `limit` of them.
 * A source that keeps offering the same bad document folds into one entry with a count, so a
 * rejection loop cannot push the real changes out.
 */
export function createReloadHistory(
  store: ConfigStore,
  limit: number,
  now: () => number,
): ReloadHistory {
  const ring: ReloadEntry[] = [];
  const push = (entry: ReloadEntry): void => {
    ring.unshift(entry);
    if (ring.length > limit) ring.length = limit;
  };
  const listener = (event: ConfigEvent): void => {
    if (event.type === 'change') push(changeEntry(event));
    else fold(ring, rejection(event, now()), push);
  };
  const unsubscribe = store.subscribe(listener);
  return {
    entries: () => ring.slice(),
    close: () => void unsubscribe(),
  };
}

/**
 * At most this many rejection entries per source since its last change: a source whose message
 * differs every time (replicas serving different bad documents) takes this many, not the ring.
 */
const REJECTIONS_PER_SOURCE = 3;

/**
 * Folds a rejection into the last one of its source since that source's last change when it is
 * the same (code and message), whatever other sources logged in between: two sources stuck on
 * bad documents, polling in turn, each keep one entry with a count, so neither pushes the real
 * changes out (review 76 D1). An entry keeps its place (its `at` is when the streak began, so the
 * ring stays newest first); a source's older rejections past {@link REJECTIONS_PER_SOURCE} go.
 */
function fold(
  ring: ReloadEntry[],
  next: ReloadRejection,
  push: (entry: ReloadEntry) => void,
): void {
  const mine: number[] = [];
  for (let i = 0; i < ring.length; i++) {
    const e = ring[i] as ReloadEntry;
    if (e.source !== next.source) continue;
    if (e.type === 'change') break;
    if (e.code === next.code && e.message === next.message) {
      ring[i] = { ...e, lastAt: next.at, count: e.count + 1 };
      return;
    }
    mine.push(i);
  }
  // Its oldest rejections first, so at most the cap stay once `next` is in.
  for (const i of mine.slice(REJECTIONS_PER_SOURCE - 1).reverse()) ring.splice(i, 1);
  push(next);
}

function rejection(event: Extract<ConfigEvent, { type: 'rejected' }>, at: number): ReloadRejection {
  return {
    type: 'rejected',
    at,
    lastAt: at,
    count: 1,
    source: scrubText(event.source),
    code: cleanText(event.error.code, 40),
    message: scrubText(event.error.message),
  };
}

function changeEntry(event: Extract<ConfigEvent, { type: 'change' }>): ReloadChange {
  const before = ruleIds(event.previous);
  const after = ruleIds(event.snapshot);
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  for (const id of event.changedRuleIds) {
    if (!before.has(id)) added.push(id);
    else if (!after.has(id)) removed.push(id);
    else modified.push(id);
  }
  const cap = (ids: string[]): string[] =>
    ids.slice(0, STATUS_MAX_RULE_IDS).map((id) => cleanText(id));
  const omitted = [added, removed, modified].reduce(
    (n, ids) => n + Math.max(0, ids.length - STATUS_MAX_RULE_IDS),
    0,
  );
  return {
    type: 'change',
    at: event.snapshot.updatedAt,
    source: scrubText(event.snapshot.source),
    fromVersion: event.previous.version,
    toVersion: event.snapshot.version,
    previousHash: event.previous.config.hash,
    hash: event.snapshot.config.hash,
    added: cap(added),
    removed: cap(removed),
    modified: cap(modified),
    settingsChanged: event.settingsChanged,
    omittedRuleIds: omitted,
  };
}

function ruleIds(snapshot: ConfigSnapshot): ReadonlySet<string> {
  return new Set((snapshot.config.document.rules ?? []).map((r) => r.id));
}
