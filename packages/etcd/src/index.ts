/**
 * `@graylane/etcd` — a rule source on one etcd key: read, watch from revision + 1, revision
 * guards per source and epoch, a full resync after a compaction, a lost watch or a restored
 * cluster, backoff with jitter, fatal on auth; TLS and password auth; and a document client
 * with compare-and-swap writes (for `graylane push`).
 */

export { createEtcdSource } from './etcd-source.js';
export type { EtcdSourceOptions } from './etcd-source.js';

export { createEtcdClient, requireLeaderInterceptor } from './client.js';
export type {
  EtcdClientLike,
  EtcdClientOptions,
  EtcdKeepaliveOptions,
  EtcdTlsOptions,
  EtcdKeyValueLike,
  EtcdRangeResponseLike,
  EtcdWatchBuilderLike,
  EtcdWatcherLike,
  EtcdWatchResponseLike,
} from './client.js';

export { createEtcdDocumentClient } from './document.js';
export type {
  CompareAndPutResult,
  EtcdDocument,
  EtcdDocumentClient,
  EtcdDocumentOptions,
} from './document.js';

export { isEtcdAuthError } from './errors.js';
export { createBackoff } from '@graylane/core';
export type { Backoff, BackoffOptions } from '@graylane/core';
export { systemClock } from '@graylane/core';
export type { SourceClock, TimerHandle } from '@graylane/core';
export type { SourceLogger } from '@graylane/core';

export {
  BACKOFF_INITIAL_MS,
  BACKOFF_JITTER,
  BACKOFF_MAX_MS,
  ETCD_DIAL_TIMEOUT_MS,
  ETCD_KEEPALIVE_TIME_MS,
  ETCD_KEEPALIVE_TIMEOUT_MS,
  ETCD_REQUEST_TIMEOUT_MS,
} from './constants.js';
