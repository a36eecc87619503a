import type { SourceClock } from '@graylane/core';

/** The error {@link withDeadline} rejects with: the call may be stuck on a hung member. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/**
 * Rejects after `ms` on the injected clock. A result that arrives after the deadline is handed to
 * `disposeLate` (e.g. cancel a watcher created too late, so it does not stay registered in the
 * client and on the server); without it, the late result is dropped.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  clock: SourceClock,
  what: string,
  disposeLate?: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = clock.setTimeout(() => {
      late = true;
      reject(new DeadlineError(`${what} timed out after ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        if (late) disposeLate?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
