import type { SourceState, SourceStatus } from '../store/types.js';
import type { SourceClock } from './clock.js';

/** Tracks one source's {@link SourceStatus}. Internal to the sources. */
export interface StatusTracker {
  get(): SourceStatus;
  /** The source read its document (changed or not). */
  succeeded(): void;
  /** The source failed; `stale` if it ever succeeded (LKG in force), else `error`. */
  failed(message: string): void;
  /** Unrecoverable (auth): `error` + `fatal`, no more retries (FLT-04). */
  fatal(message: string): void;
  stopped(): void;
}

/** Creates a status tracker; `onChange` hears every transition and never breaks the source. */
export function createStatusTracker(
  clock: SourceClock,
  onChange?: (status: SourceStatus) => void,
): StatusTracker {
  let status: SourceStatus = { state: 'starting' };
  const set = (next: SourceStatus): void => {
    status = next;
    try {
      onChange?.(next);
    } catch {
      // Listener bugs stay out of the reload path (FLT-16).
    }
  };
  const failedState = (): SourceState => (status.lastSuccess === undefined ? 'error' : 'stale');
  return {
    get: () => status,
    succeeded: () => set({ state: 'ready', lastSuccess: clock.wallNow() }),
    failed: (message) => {
      if (status.fatal || status.state === 'stopped') return;
      set({ state: failedState(), lastSuccess: status.lastSuccess, lastError: message });
    },
    fatal: (message) =>
      set({ state: 'error', lastSuccess: status.lastSuccess, lastError: message, fatal: true }),
    stopped: () => set({ ...status, state: 'stopped' }),
  };
}
