import { GraylaneError, type ConfigStore, type UpdateResult } from '@graylane/core';

/**
 * Offers a document to the store without ever throwing: a store or validator bug is turned
 * into a `rejected` result and the last-known-good config stays (FLT-16).
 */
export function safeUpdate(store: ConfigStore, input: unknown, source: string): UpdateResult {
  try {
    return store.update(input, { source });
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
