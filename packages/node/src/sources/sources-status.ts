import type { SourceStatus } from '@graylane/core';

/** Readiness of a set of sources: `degraded` means some source is not ready and the LKG serves. */
export type SourcesState = 'starting' | 'ready' | 'degraded' | 'stopped';

/** What {@link SourcesHandle.status} reports (JSON-serialisable, for readiness endpoints). */
export interface SourcesStatus {
  readonly state: SourcesState;
  readonly sources: readonly { readonly name: string; readonly status: SourceStatus }[];
  /** The snapshot in force. */
  readonly config: {
    readonly version: number;
    readonly source: string;
    readonly updatedAt: number;
  };
}

/**
 * `ready` when every source is ready; once the first attempts have ended (or `startTimeoutMs`
 * passed), `degraded` as soon as any one source is not ready (`starting`, `stale`, `error`,
 * `stopped`), even while others are: a configured source that does not load means the config in
 * force may be older than that source's. Before then, `starting`.
 */
export function aggregateState(
  list: readonly { readonly status: SourceStatus }[],
  flags: { readonly settled: boolean; readonly stopped: boolean },
): SourcesState {
  if (flags.stopped) return 'stopped';
  const allReady = list.every((s) => s.status.state === 'ready');
  if (allReady && (list.length > 0 || flags.settled)) return 'ready';
  return flags.settled ? 'degraded' : 'starting';
}
