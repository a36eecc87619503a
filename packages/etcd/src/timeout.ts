import type { SourceClock } from '@graylane/core';

/** Rejects after `ms` on the injected clock; the original promise's late result is dropped. */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  clock: SourceClock,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
