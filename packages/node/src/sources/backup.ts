import {
  GraylaneError,
  MAX_CONFIG_BYTES,
  createBackoff,
  describeError,
  oneLine,
  safeLogger,
  systemClock,
  type SourceClock,
  type ConfigEvent,
  type ConfigSnapshot,
  type ConfigStore,
  type SourceLogger,
  type UpdateResult,
} from '@graylane/core';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { safeUpdate } from './apply.js';
import { writeFileAtomic } from './atomic-write.js';
import { decodeDocument, readBoundedFile } from './bounded-read.js';

/** Options of {@link createBackup}. */
export interface BackupOptions {
  /** The backup file. Its directory is made when missing (mode 700); it must be writable. */
  readonly path: string;
  readonly logger?: SourceLogger | undefined;
  /** Time for the retry schedule of failed writes. Default `systemClock`. */
  readonly clock?: SourceClock | undefined;
}

/** A last-known-good copy on disk, for cold starts without a reachable source. */
export interface Backup {
  readonly path: string;
  /** The backup text; `undefined` (with a warning unless absent) when unreadable (FLT-13). */
  read(): Promise<string | undefined>;
  /**
   * Reads the backup and offers it to `store` as source `backup`, unless `shouldApply()` says
   * otherwise once the file is read. A corrupt backup is ignored with a warning (FLT-13).
   */
  restore(store: ConfigStore, shouldApply?: () => boolean): Promise<UpdateResult | undefined>;
  /**
   * Makes the backup hold `snapshot`'s config (atomically, FLT-14; skipped when it already does).
   * `startSources` calls it each time a source delivers a document the store accepts, changed or
   * not, so the backup always reflects what is in force (SRC-04).
   */
  record(snapshot: ConfigSnapshot): void;
  /** Records every changed config (except the backup's own and the embedded default's); returns the unsubscribe function. */
  attach(store: ConfigStore): () => void;
  /** Resolves when pending writes are done. */
  flush(): Promise<void>;
}

/** Sources whose configs are not written back: the backup itself and the code default. */
const NOT_BACKED_UP: ReadonlySet<string> = new Set(['backup', 'embedded']);

/**
 * A backup file: whenever a source delivers a config that is in force — a change, and also a
 * document equal to the current one, such as a rollback to the embedded default — the config is
 * written with temp + fsync + rename, so a cold start never resurrects a rolled-back config
 * (SRC-04). A write that fails (disk full, directory gone) leaves the previous backup whole, is
 * reported once per streak and retried with backoff (1 s doubling to 60 s). At cold start it is
 * read when no source is ready. Corrupt, empty, oversized, non-UTF-8 or unreadable backups (a
 * FIFO, a directory) are ignored with a warning.
 *
 * @example
 * ```ts
 * const backup = createBackup({ path: '/var/lib/app/graylane.json' });
 * startSources(store, [createHttpSource({ url })], { backup });
 * ```
 */
export function createBackup(options: BackupOptions): Backup {
  if (typeof options?.path !== 'string')
    throw new GraylaneError('INVALID_OPTIONS', 'createBackup: path is required');
  const logger = safeLogger(options.logger);
  const clock = options.clock ?? systemClock;
  const { path } = options;
  let pending: string | undefined;
  let writing: Promise<void> | undefined;
  /** What the file is known to hold (written or restored by this process). */
  let held: string | undefined;
  /**
   * The current streak of failed writes (disk full, directory gone, path now a directory): the
   * config that failed, the error code last reported, and when that config may be tried again.
   */
  let failing: { text: string; code: string; retryAt: number } | undefined;
  const retries = createBackoff();

  const drain = async (): Promise<void> => {
    while (pending !== undefined) {
      const text = pending;
      pending = undefined;
      if (text === held) continue;
      try {
        // Its directory first (a fresh host has no `/var/lib/graylane`; a cleanup may remove
        // it): without it every write failed and there was no backup at all (review 73 N4).
        // A failure here (a file where the directory goes) is left to the write, whose error
        // (ENOTDIR, EACCES) names the cause better than mkdir's EEXIST.
        await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => undefined);
        await writeFileAtomic(path, text);
        held = text;
        failing = undefined;
        retries.reset();
      } catch (err) {
        const code = String((err as NodeJS.ErrnoException).code ?? err);
        // Once per streak (or when the cause changes): every confirmation of the same config
        // would otherwise log again and rewrite up to 1 MiB onto a full disk.
        if (failing?.code !== code)
          logger.warn(
            `[graylane] could not write the config backup ${path} (${code}); the previous backup stays, retrying with backoff`,
            err,
          );
        failing = { text, code, retryAt: clock.now() + retries.next() };
      }
    }
  };
  const record = (snapshot: ConfigSnapshot): void => {
    const text = snapshot.config.canonical;
    if (text === (pending ?? held)) return;
    // The same config failed recently: wait for the backoff (a new config is tried at once).
    if (failing?.text === text && clock.now() < failing.retryAt) return;
    pending = text; // Only the newest config matters.
    writing ??= drain().finally(() => {
      writing = undefined;
    });
  };

  return {
    path,
    read: () => readBackup(path, logger),
    async restore(store, shouldApply = () => true) {
      const text = await readBackup(path, logger);
      if (text === undefined || !shouldApply()) return undefined;
      const result = safeUpdate(store, text, 'backup');
      if (result.status === 'rejected') {
        logger.warn(
          `[graylane] ignoring corrupt config backup ${oneLine(path, 300)}: ${describeError(result.error).replace(/^\[graylane\] /, '')}`,
        );
      } else if (pending === undefined && writing === undefined) {
        held ??= result.snapshot.config.canonical; // the file holds what is now in force
      }
      return result;
    },
    record,
    attach(store) {
      return store.subscribe((event: ConfigEvent) => {
        if (event.type === 'change' && !NOT_BACKED_UP.has(event.snapshot.source)) {
          record(event.snapshot);
        }
      });
    },
    async flush() {
      while (writing) await writing;
    },
  };
}

async function readBackup(path: string, logger: SourceLogger): Promise<string | undefined> {
  const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
  switch (read.kind) {
    case 'ok': {
      const decoded = decodeDocument(read.bytes);
      if (decoded.ok) return decoded.text;
      logger.warn(`[graylane] ignoring config backup ${path}: ${decoded.reason}`);
      return undefined;
    }
    case 'missing':
      return undefined;
    case 'refused':
      logger.warn(`[graylane] ignoring config backup ${path}: ${read.reason}`);
      return undefined;
    case 'unsettled':
      logger.warn(`[graylane] ignoring config backup ${path}: it changed while being read`);
      return undefined;
    case 'error':
      logger.warn(`[graylane] ignoring unreadable config backup ${path}`, read.error);
      return undefined;
  }
}
