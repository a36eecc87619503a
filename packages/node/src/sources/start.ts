import {
  GraylaneError,
  safeLogger,
  systemClock,
  type ConfigStore,
  type RuleSource,
  type SourceClock,
  type SourceLogger,
  type SourceStatus,
} from '@graylane/core';
import { createBackup, type Backup, type BackupOptions } from './backup.js';
import { START_TIMEOUT_MS } from './constants.js';
import { instrumentStore } from './instrument.js';
import {
  createSourceMetrics,
  loadOtelMeter,
  type MeterLike,
  type SourceMetrics,
} from './metrics.js';
import { aggregateState, type SourcesStatus } from './sources-status.js';

/** Options of {@link startSources}. */
export interface StartSourcesOptions {
  /** A backup file, kept equal to what sources put in force (SRC-04) and read at cold start when no source is ready. */
  readonly backup?: Backup | BackupOptions | undefined;
  /** How long `ready` waits for the first attempts. Default 10 s (FLT-01). */
  readonly startTimeoutMs?: number | undefined;
  /** A meter for reload counters and the staleness gauge; default: `@opentelemetry/api` if installed; `false` for none. */
  readonly meter?: MeterLike | false | undefined;
  readonly clock?: SourceClock | undefined;
  readonly logger?: SourceLogger | undefined;
}

/** The running sources. */
export interface SourcesHandle {
  /** Settles when every source made its first attempt (or the start timeout passed) and the backup was consulted. Never rejects. */
  readonly ready: Promise<SourcesStatus>;
  status(): SourcesStatus;
  /** Stops every source and waits for pending backup writes. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts rule sources feeding one store, without blocking anything on them (FLT-01): the store
 * serves its embedded default — or the backup file, if no source answers — until a source
 * succeeds. Adds reload counters and a staleness gauge when a meter is available.
 *
 * @example
 * ```ts
 * const sources = startSources(gray.store, [createFileSource({ path: './rules.json' })], {
 *   backup: { path: '/var/lib/app/graylane.backup.json' },
 * });
 * app.get('/ready', (_req, res) => res.json(sources.status()));
 * process.on('SIGTERM', () => void sources.stop());
 * ```
 */
export function startSources(
  store: ConfigStore,
  sources: readonly RuleSource[],
  options: StartSourcesOptions = {},
): SourcesHandle {
  if (typeof store?.get !== 'function' || typeof store.subscribe !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'startSources: store must be a config store');
  if (!Array.isArray(sources) || !sources.every((s) => typeof s?.start === 'function'))
    throw new GraylaneError('INVALID_OPTIONS', 'startSources: sources must be a list of sources');
  options ??= {}; // `null` from plain JS
  const clock = options.clock ?? systemClock;
  const logger = safeLogger(options.logger);
  const backup = toBackup(options.backup, logger);
  let metrics: SourceMetrics = createSourceMetrics(
    options.meter === false ? undefined : options.meter,
  );
  const counted = instrumentStore(
    store,
    { reload: (s, r) => metrics.reload(s, r), staleness: () => () => undefined },
    (result, meta) => {
      // Every document a source delivers that is in force — changed, or equal to what is in
      // force (a rollback to the embedded default) — goes to the backup (SRC-04).
      const accepted = result.status === 'changed' || result.status === 'unchanged';
      if (backup && accepted && meta?.source !== 'backup') backup.record(result.snapshot);
    },
  );
  const detachBackup = backup?.attach(store);
  const initialVersion = store.get().version;
  const startedAt = clock.wallNow();
  let settled = false;
  let stopped = false;

  const readings = () =>
    sources.map((s) => {
      const { state, lastSuccess } = safeStatus(s);
      // A ready source (a live watch, a fresh poll) is current: staleness counts only while it
      // is not — from its last success, or from the start when it never succeeded (a wrong URL
      // or credentials at deploy, a restart while the endpoint is down): never no reading, or
      // `GraylaneSourceStale` would not see the source at all.
      const since = lastSuccess ?? startedAt;
      const seconds = state === 'ready' ? 0 : Math.max(0, (clock.wallNow() - since) / 1000);
      return { source: s.name, seconds };
    });
  let removeGauge: (() => void) | undefined;
  const attach = (): void => {
    for (const s of sources) {
      try {
        metrics.declare?.(s.name);
      } catch {
        // A metrics SDK bug must not fail the start.
      }
    }
    removeGauge = metrics.staleness(readings);
  };
  const useMeter = (meter: MeterLike | undefined): void => {
    // stop() before the OTel api finished loading: register nothing.
    if (stopped) return;
    metrics = createSourceMetrics(meter);
    attach();
  };
  if (options.meter === undefined) void loadOtelMeter().then(useMeter, () => undefined);
  else attach();

  const status = (): SourcesStatus => {
    const list = sources.map((s) => ({ name: s.name, status: safeStatus(s) }));
    const snapshot = store.get();
    return {
      state: aggregateState(list, { settled, stopped }),
      sources: list,
      config: { version: snapshot.version, source: snapshot.source, updatedAt: snapshot.updatedAt },
    };
  };

  const ready = (async () => {
    const first = Promise.all(sources.map((s) => s.start(counted).catch(() => undefined)));
    await withTimeout(first, options.startTimeoutMs ?? START_TIMEOUT_MS, clock);
    const anyReady = sources.some((s) => safeStatus(s).state === 'ready');
    if (!anyReady && backup && !stopped) {
      await backup.restore(counted, () => store.get().version === initialVersion);
    }
    settled = true;
    // A stop() before the first attempts ended is deliberate: nothing is degraded.
    if (!anyReady && sources.length > 0 && !stopped) {
      logger.error(
        `[graylane] no rule source is ready; serving ${store.get().source} config (degraded)`,
      );
    }
    return status();
  })().catch(() => status());

  return {
    ready,
    status,
    async stop() {
      if (stopped) return;
      stopped = true;
      removeGauge?.();
      removeGauge = undefined;
      await Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
      detachBackup?.();
      await backup?.flush();
    },
  };
}

function toBackup(
  option: Backup | BackupOptions | undefined,
  logger: SourceLogger,
): Backup | undefined {
  if (!option) return undefined;
  return 'restore' in option ? option : createBackup({ logger, ...option });
}

function safeStatus(source: RuleSource): SourceStatus {
  try {
    return source.status();
  } catch (err) {
    return { state: 'error', lastError: String(err) };
  }
}

function withTimeout(promise: Promise<unknown>, ms: number, clock: SourceClock): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(undefined), ms);
    void promise.then(() => {
      clock.clearTimeout(timer);
      resolve(undefined);
    });
  });
}
