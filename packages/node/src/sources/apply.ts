import { GraylaneError, type ConfigStore, type Revision, type UpdateResult } from '@graylane/core';

/**
 * Offers a document to the store without ever throwing: a store or validator bug is turned
 * into a `rejected` result and the last-known-good config stays (FLT-16).
 */
export function safeUpdate(
  store: ConfigStore,
  input: unknown,
  source: string,
  revision?: Revision,
): UpdateResult {
  try {
    return store.update(input, revision === undefined ? { source } : { source, revision });
  } catch (err) {
    const error = new GraylaneError(
      'INVALID_CONFIG',
      `store update failed unexpectedly: ${String(err)}`,
      {
        cause: err,
      },
    );
    return { status: 'rejected', snapshot: store.get(), error };
  }
}

/** A one-line description of a rejection for logs and `lastError`. */
export function describeRejection(result: UpdateResult): string | undefined {
  return result.status === 'rejected' ? result.error.message : undefined;
}
