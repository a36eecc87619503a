import { readFile } from 'node:fs/promises';
import {
  safeLogger,
  type ConfigEvent,
  type ConfigStore,
  type SourceLogger,
  type UpdateResult,
} from '@graylane/core';
import { safeUpdate } from './apply.js';
import { writeFileAtomic } from './atomic-write.js';

/** Options of {@link createBackup}. */
export interface BackupOptions {
  /** The backup file. Its directory must exist and be writable. */
  readonly path: string;
  readonly logger?: SourceLogger | undefined;
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
  /** Writes every changed config atomically (FLT-14); returns the unsubscribe function. */
  attach(store: ConfigStore): () => void;
  /** Resolves when pending writes are done. */
  flush(): Promise<void>;
}

/** Sources whose configs are not written back: the backup itself and the code default. */
const NOT_BACKED_UP: ReadonlySet<string> = new Set(['backup', 'embedded']);

/**
 * A backup file: after each successful swap the config is written with temp + fsync + rename;
 * at cold start it is read when the primary source is unreachable. Corrupt, empty or unreadable
 * backups are ignored with a warning.
 *
 * @example
 * ```ts
 * const backup = createBackup({ path: '/var/lib/app/graylane.json' });
 * startSources(store, [createHttpSource({ url })], { backup });
 * ```
 */
export function createBackup(options: BackupOptions): Backup {
  const logger = safeLogger(options.logger);
  const { path } = options;
  let pending: string | undefined;
  let writing: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (pending !== undefined) {
      const text = pending;
      pending = undefined;
      try {
        await writeFileAtomic(path, text);
      } catch (err) {
        logger.warn(`[graylane] could not write the config backup ${path}`, err);
      }
    }
  };
  const schedule = (text: string): void => {
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
        logger.warn(`[graylane] ignoring corrupt config backup ${path}: ${result.error.message}`);
      }
      return result;
    },
    attach(store) {
      return store.subscribe((event: ConfigEvent) => {
        if (event.type === 'change' && !NOT_BACKED_UP.has(event.snapshot.source)) {
          schedule(event.snapshot.config.canonical);
        }
      });
    },
    async flush() {
      while (writing) await writing;
    },
  };
}

async function readBackup(path: string, logger: SourceLogger): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn(`[graylane] ignoring unreadable config backup ${path}`, err);
    }
    return undefined;
  }
}
