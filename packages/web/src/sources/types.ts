import type { ConfigStore, SourceStatus } from '@graylane/core';

/**
 * Rules at the edge. Workers and edge functions have no long-lived timers, so a source does not
 * poll: the engine asks it on each request whether a refresh is due (a minimum interval, or
 * a backoff after failures) and hands the refresh to `waitUntil`, so no request waits on it.
 * Every document goes through the store (validate → compare → swap, last-known-good).
 */
export interface EdgeRuleSource {
  readonly name: string;
  /** Starts a refresh when one is due; undefined when not. Single-flight; never rejects. */
  refreshIfDue(store: ConfigStore): Promise<void> | undefined;
  /**
   * Refreshes now: resolves after a read that began after this call (a read in flight is
   * awaited, then one more made, shared by callers meanwhile). Never rejects.
   */
  refresh(store: ConfigStore): Promise<void>;
  status(): SourceStatus;
}

/** What one read of a source found. */
export type LoadResult =
  | { readonly kind: 'document'; readonly value: unknown; readonly etag?: string | undefined }
  | { readonly kind: 'unchanged' }
  | {
      readonly kind: 'failed';
      readonly message: string;
      readonly retryAfterMs?: number | undefined;
    }
  | { readonly kind: 'fatal'; readonly message: string };
