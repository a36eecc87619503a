import {
  GraylaneError,
  MAX_CONFIG_BYTES,
  createBackoff,
  describeError as describeRejection,
  type BackoffOptions,
  type ConfigStore,
  type RuleSource,
  type SourceOptions,
  type TimerHandle,
  type UpdateResult,
  reportFailedLoad,
  sourceRuntime,
} from '@graylane/core';
import {
  clientOptionsProblem,
  createEtcdClient,
  type EtcdClientLike,
  type EtcdKeepaliveOptions,
  type EtcdTlsOptions,
  type EtcdWatcherLike,
  type EtcdWatchResponseLike,
} from './client.js';
import { ETCD_REQUEST_TIMEOUT_MS } from './constants.js';
import { describeError, isEtcdAuthError } from './errors.js';
import { DeadlineError, withDeadline } from './timeout.js';

/**
 * What applying one value did; `offered` when the store had the document (its result is counted
 * by the store's instrumentation, not as a failed load).
 */
type Outcome =
  { readonly ok: true } | { readonly ok: false; readonly message: string; readonly offered?: true };

const KEY_ABSENT = 'key absent';

/**
 * UTF-8, without a leading byte order mark (SRC-05: editors on Windows write one); `undefined`
 * for bytes that are not UTF-8, which are refused rather than replaced by U+FFFD (a replaced
 * byte in a matcher value makes a rule silently never match).
 */
function decode(value: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return undefined;
  }
}
const NOT_UTF8 = 'not valid UTF-8 (a JSON document must be UTF-8, RFC 8259 §8.1)';
/** The HTTP source's words for a body over the cap: one reason, whichever source refused it. */
const TOO_LARGE = `document larger than ${MAX_CONFIG_BYTES} bytes`;

/** Not awaited: etcd3's cancel waits for a server answer that may never come while disconnected. */
function cancelQuietly(w: EtcdWatcherLike): void {
  try {
    w.cancel().catch(() => undefined);
  } catch {
    // A fake or a closed client may throw synchronously; the watcher is gone either way.
  }
}

/** Options of {@link createEtcdSource}: either `hosts` (a client is created and owned) or `client`. */
export interface EtcdSourceOptions extends SourceOptions {
  /** The key holding the JSON config document. */
  readonly key: string;
  /** etcd endpoints, e.g. `http://127.0.0.1:2379`. Ignored when `client` is given. */
  readonly hosts?: string | readonly string[] | undefined;
  /** Password auth for the client built from `hosts`. */
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /** TLS for the client built from `hosts` (use `https://` hosts): a CA and/or a client certificate. */
  readonly tls?: EtcdTlsOptions | undefined;
  /** Your own etcd3 client (or a fake). It is not closed by `stop()`. */
  readonly client?: EtcdClientLike | undefined;
  /**
   * Keepalive of the client built from `hosts`: a silent connection (a partition that drops
   * packets, a frozen member) ends the watch within time + timeout (15 s by default) and the
   * source goes `stale` and reconnects, instead of staying `ready` while deaf (SRC-01).
   */
  readonly keepalive?: EtcdKeepaliveOptions | false | undefined;
  /** Deadline for each get and watch creation. Default 5 s. */
  readonly requestTimeoutMs?: number | undefined;
  /** Reconnect schedule. Default 1 s doubling to 60 s, ±20 %. */
  readonly backoff?: BackoffOptions | undefined;
}

/**
 * A rule source on one etcd key. It reads the key, watches from the read revision + 1, and on
 * any lost or cancelled watch (disconnect, compaction) backs off 1 s, 2 s … 60 s (±20 %) and
 * does a full read again, so nothing that happened while disconnected is missed (FLT-06).
 * Revisions are guarded (a replayed or older revision is ignored, FLT-07); auth errors stop the
 * source (FLT-04). The last-known-good config stays through every failure.
 *
 * @example
 * ```ts
 * const etcd = createEtcdSource({ hosts: 'http://etcd:2379', key: '/graylane/config' });
 * const sources = startSources(gray.store, [etcd]);
 * ```
 */
export function createEtcdSource(options: EtcdSourceOptions): RuleSource {
  if (typeof options !== 'object' || options === null)
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createEtcdSource: options are required ({ hosts, key })',
    );
  const { name, clock, logger, status } = sourceRuntime(options, 'etcd');
  // Options that can never work stop the source at start, never a retry loop (FLT-04).
  const unusable =
    typeof options.key !== 'string'
      ? 'createEtcdSource needs `key`'
      : options.client
        ? undefined
        : options.hosts === undefined
          ? 'createEtcdSource needs `hosts` or `client`'
          : clientOptionsProblem(options);
  const backoff = createBackoff(options.backoff);
  const timeout = options.requestTimeoutMs ?? ETCD_REQUEST_TIMEOUT_MS;
  const { key } = options;
  let client: EtcdClientLike | undefined;
  let store: ConfigStore | undefined;
  let watcher: EtcdWatcherLike | undefined;
  let retryTimer: TimerHandle | undefined;
  let revision = -1n; // last revision applied or skipped, in the current epoch
  let cluster: string | undefined; // cluster id of the last full read
  let generation = 0;
  let stopped = false;

  const getClient = (): EtcdClientLike => {
    if (options.client) return options.client;
    client ??= createEtcdClient({
      hosts: options.hosts as string | readonly string[],
      auth: options.auth,
      tls: options.tls,
      keepalive: options.keepalive,
      requestTimeoutMs: timeout,
    });
    return client;
  };

  /** Offers a value to the store; the outcome is reported by the caller (never throws, FLT-16). */
  const apply = (value: Uint8Array | undefined, rev: bigint): Outcome => {
    if (!store) return { ok: false, message: 'not started' };
    if (value === undefined) {
      if (status.get().lastError !== KEY_ABSENT)
        logger.warn(`[graylane] etcd key ${key} is absent; keeping the last good config`);
      return { ok: false, message: KEY_ABSENT };
    }
    // Refused before it is decoded or parsed, as the file and HTTP sources refuse a document over
    // the cap: a failed load, not one the store rejected (etcd stores values up to its 1.5 MiB
    // request limit, so a value over 1 MiB reaches the source).
    if (value.byteLength > MAX_CONFIG_BYTES) {
      logger.warn(
        `[graylane] etcd key ${key} rejected at revision ${rev}; keeping the last good config: ${TOO_LARGE}`,
      );
      return { ok: false, message: TOO_LARGE };
    }
    const text = decode(value);
    if (text === undefined) {
      logger.warn(
        `[graylane] etcd key ${key} rejected at revision ${rev}; keeping the last good config: ${NOT_UTF8}`,
      );
      return { ok: false, message: NOT_UTF8 };
    }
    let result: UpdateResult;
    try {
      // No revision for the store: its guard is keyed by source name, so a re-created source or
      // a second source named `etcd` (another cluster) would be dropped as stale (SRC-03). This
      // source guards its own revisions, per instance and per epoch (a full read starts one).
      result = store.update(text, { source: name });
    } catch (err) {
      logger.error(
        `[graylane] etcd key ${key}: config update failed unexpectedly; keeping the last good config`,
        err,
      );
      return { ok: false, message: `update failed: ${describeError(err)}`, offered: true };
    }
    if (result.status === 'rejected') {
      // Escaped and bounded (I1, I4): a `\n` in a key of the document must not forge a log line.
      const message = describeRejection(result.error);
      logger.warn(
        `[graylane] etcd key ${key} rejected at revision ${rev}; keeping the last good config: ${message}`,
      );
      return { ok: false, message, offered: true };
    }
    return { ok: true };
  };
  const report = (outcome: Outcome): void => {
    if (outcome.ok) return status.succeeded();
    if (!outcome.offered) reportFailedLoad(store, name);
    status.failed(outcome.message);
  };

  const onData = (res: EtcdWatchResponseLike, gen: number): void => {
    if (gen !== generation || stopped) return;
    let latest: { value: Uint8Array | undefined; rev: bigint } | undefined;
    for (const event of res.events) {
      const rev = BigInt(event.kv.mod_revision);
      if (rev <= revision) continue; // FLT-07: a replayed or older revision is a no-op.
      revision = rev;
      latest = { value: event.type === 'Delete' ? undefined : event.kv.value, rev };
    }
    // A progress notification (no events) says nothing about the value: the status stays.
    if (latest) report(apply(latest.value, latest.rev));
  };

  const lost = (error: unknown, gen: number): void => {
    if (gen !== generation || stopped) return;
    generation++;
    dropWatcher();
    if (error instanceof DeadlineError) dropOwnedClient();
    reportFailedLoad(store, name);
    if (isEtcdAuthError(error)) {
      const fatal = new GraylaneError(
        'SOURCE_FATAL',
        `etcd source ${key}: ${describeError(error)}; check the credentials and role; the source stopped and the last good config stays in force`,
        { cause: error },
      );
      logger.error(fatal.message, fatal);
      return status.fatal(describeError(error));
    }
    const message = describeError(error);
    if (status.get().lastError !== message)
      logger.warn(
        `[graylane] etcd source ${key}: ${message}; retrying, keeping the last good config`,
      );
    status.failed(message);
    const delay = backoff.next();
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  };

  /**
   * etcd3 keeps one watch stream per client, bound to the member it first reached: if that member
   * accepts TCP and never answers, every later watch queues on the same stuck stream. Closing the
   * client the source owns lets the next attempt pick a host again. A client passed in is never
   * closed (it is the caller's).
   */
  const dropOwnedClient = (): void => {
    const old = client;
    client = undefined;
    old?.close();
  };

  const dropWatcher = (): void => {
    const old = watcher;
    watcher = undefined;
    if (old) cancelQuietly(old);
  };

  /**
   * One attempt: a full read, then a watch from its revision + 1. The full read is authoritative
   * and starts a new epoch of the revision guard: if the cluster was restored from a snapshot or
   * rebuilt (its revision is now lower than the last one seen, or its cluster id changed), the
   * read value is applied and the watch starts from the new history, instead of waiting for a
   * revision the new cluster may never reach while reporting `ready` (SRC-01).
   */
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const gen = ++generation;
    try {
      const etcd = getClient();
      const res = await withDeadline(etcd.get(key).exec(), timeout, clock, 'etcd get');
      if (gen !== generation || stopped) return;
      const rev = BigInt(res.header.revision);
      noticeReset(rev, res.header.cluster_id);
      const created = etcd
        .watch()
        .key(key)
        .startRevision(String(rev + 1n))
        .create();
      // A watcher created after the deadline was never adopted: cancel it, or it stays
      // registered in the client and on the server, one more per retry (SRC rows, FLT-05).
      const w = await withDeadline(created, timeout, clock, 'etcd watch', cancelQuietly);
      if (gen !== generation || stopped) return cancelQuietly(w);
      watcher = w;
      w.on('data', (r) => onData(r, gen));
      w.on('disconnected', (err) => lost(err, gen));
      w.on('error', (err) => lost(err, gen));
      backoff.reset();
      // Applied once the watch is live, so `ready` and the value arrive together (SRC-01).
      revision = rev;
      report(apply(res.kvs[0]?.value, rev));
    } catch (err) {
      lost(err, gen);
    }
  };

  /** Logs a restored or rebuilt cluster (a lower revision, another cluster id). */
  const noticeReset = (rev: bigint, clusterId: string | undefined): void => {
    const why =
      rev < revision
        ? `its revision went backwards (${revision} → ${rev})`
        : clusterId !== undefined && cluster !== undefined && clusterId !== cluster
          ? `its cluster id changed (${cluster} → ${clusterId})`
          : undefined;
    if (clusterId !== undefined) cluster = clusterId;
    if (why)
      logger.warn(
        `[graylane] etcd source ${key}: the cluster was restored or rebuilt (${why}); resynced from a full read`,
      );
  };

  return {
    name,
    async start(target) {
      if (store) return;
      store = target;
      if (unusable !== undefined) {
        const fatal = new GraylaneError(
          'SOURCE_FATAL',
          `etcd source ${key}: ${unusable}; the source stopped and the last good config stays in force`,
        );
        logger.error(fatal.message, fatal);
        reportFailedLoad(target, name);
        return status.fatal(unusable);
      }
      await connect();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      generation++;
      if (retryTimer !== undefined) clock.clearTimeout(retryTimer);
      const old = watcher;
      watcher = undefined;
      if (old)
        await withDeadline(old.cancel(), timeout, clock, 'etcd cancel').catch(() => undefined);
      client?.close();
      status.stopped();
    },
    status: () => status.get(),
  };
}
