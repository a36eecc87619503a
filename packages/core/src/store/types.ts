import type { GraylaneError } from '../errors.js';
import type { GrayConfig } from '../config/types.js';

/** A source's revision: etcd mod revisions, HTTP sequence numbers, file read sequence. */
export type Revision = number | bigint;

/** The config in force, with its store version. Hot paths read this and nothing else. */
export interface ConfigSnapshot {
  readonly config: GrayConfig;
  /** Starts at 1; bumped only when the content really changes (RELIABILITY I6). */
  readonly version: number;
  /** Which source supplied it (`embedded`, `file`, `http`, `etcd`, `backup`, …). */
  readonly source: string;
  /** Epoch ms of the swap. */
  readonly updatedAt: number;
}

/** Metadata of one update. */
export interface UpdateMeta {
  readonly source?: string | undefined;
  /** Updates with a revision ≤ the last one seen from the same source are stale (CFG-13). */
  readonly revision?: Revision | undefined;
}

/** What one update did. The store never throws from `update`. */
export type UpdateResult =
  | {
      readonly status: 'changed';
      readonly snapshot: ConfigSnapshot;
      readonly changedRuleIds: readonly string[];
    }
  | { readonly status: 'unchanged'; readonly snapshot: ConfigSnapshot }
  | { readonly status: 'stale'; readonly snapshot: ConfigSnapshot }
  | {
      readonly status: 'rejected';
      readonly snapshot: ConfigSnapshot;
      readonly error: GraylaneError;
    };

/** Events a store emits. */
export type ConfigEvent =
  | {
      readonly type: 'change';
      readonly snapshot: ConfigSnapshot;
      readonly previous: ConfigSnapshot;
      /** Rules added, removed or modified. */
      readonly changedRuleIds: readonly string[];
      /** True when `versions`, `default` or `caseInsensitive` changed. */
      readonly settingsChanged: boolean;
    }
  | { readonly type: 'rejected'; readonly source: string; readonly error: GraylaneError };

/** Health of a rule source. */
export type SourceState = 'starting' | 'ready' | 'stale' | 'error' | 'stopped';

/** A source's status: `stale` means the store serves the last-known-good config. */
export interface SourceStatus {
  readonly state: SourceState;
  /** Epoch ms of the last successful read. */
  readonly lastSuccess?: number | undefined;
  readonly lastError?: string | undefined;
  /** True after an unrecoverable error (auth): the source stopped retrying. */
  readonly fatal?: boolean | undefined;
}

/** The config store: validate → compare → atomic swap → last-known-good. */
export interface ConfigStore {
  /** The snapshot in force. O(1), never blocks, never throws. */
  get(): ConfigSnapshot;
  /** Offers a new document. Invalid → rejected, LKG kept; identical → unchanged. */
  update(input: unknown, meta?: UpdateMeta): UpdateResult;
  /** Subscribes to change and rejection events; returns the unsubscribe function. */
  subscribe(listener: (event: ConfigEvent) => void): () => void;
}

/**
 * A place rules come from. Sources push into a store; request handling only ever reads the
 * store's snapshot, so no request waits on a source (FLT-01).
 */
export interface RuleSource {
  readonly name: string;
  /** Starts feeding `store`. Resolves after the first attempt, successful or not; never rejects. */
  start(store: ConfigStore): Promise<void>;
  /** Stops timers, watches and connections. Idempotent. */
  stop(): Promise<void>;
  status(): SourceStatus;
}
