/**
 * `@graylane/node/sources` — rule sources with hot reload: a watched JSON file, an HTTP endpoint
 * with ETag, a backup file, and `startSources` to run them against one config store.
 */

export { createFileSource } from './file/file-source.js';
export type { FileSourceOptions } from './file/file-source.js';

export { createHttpSource } from './http/http-source.js';
export type { FetchLike, HttpSourceOptions } from './http/http-source.js';

export { createBackup } from './backup.js';
export type { Backup, BackupOptions } from './backup.js';
export { writeFileAtomic } from './atomic-write.js';
export type { WriteFileAtomicOptions } from './atomic-write.js';

export { startSources } from './start.js';
export type { SourcesHandle, StartSourcesOptions } from './start.js';
export type { SourcesState, SourcesStatus } from './sources-status.js';

export { createBackoff } from '@graylane/core';
export type { Backoff, BackoffOptions } from '@graylane/core';
export { systemClock } from '@graylane/core';
export type { SourceClock, TimerHandle } from '@graylane/core';
export { consoleLogger } from '@graylane/core';
export type { SourceLogger } from '@graylane/core';
export { createSourceMetrics } from './metrics.js';
export type { MeterLike, SourceMetrics, StalenessReading } from './metrics.js';

export {
  BACKOFF_INITIAL_MS,
  BACKOFF_JITTER,
  BACKOFF_MAX_MS,
  FILE_DEBOUNCE_MS,
  FILE_MIN_GAP_MS,
  FILE_MAX_WAIT_MS,
  FILE_REARM_MS,
  FILE_SETTLE_MS,
  HTTP_INTERVAL_MS,
  HTTP_MAX_REDIRECTS,
  HTTP_TIMEOUT_MS,
  START_TIMEOUT_MS,
} from './constants.js';
