import { statSync, watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { SourceClock, TimerHandle } from '@graylane/core';

/** A directory watch that re-arms itself. */
export interface DirectoryWatch {
  close(): void;
}

/** What a periodic check compares: the directory's inode and the file's identity and times. */
interface Identity {
  readonly dir: string;
  readonly file: string;
}

/**
 * Watches the file's directory (not the file: an atomic save or a ConfigMap `..data` swap
 * replaces the file's inode and a file watch would go deaf, flagd#42 / k8s#112677), and checks
 * every `checkMs`, with two `stat`s, that the watch still looks at the right place:
 *
 * - the directory path now resolves to another inode (removed and recreated, or a symlinked
 *   directory swapped with `ln -sfn`; an inotify watch stays on the old inode and goes deaf):
 *   the watch is re-armed on the new directory and `onEvent` fires (SRC-02, FLT-11, FLT-12);
 * - the file (symlinks followed) changed inode, size or times without an event (a symlink target
 *   in another directory, a filesystem without inotify): `onEvent` fires.
 *
 * A change is therefore seen within `checkMs` even when no event arrives; events make it faster.
 */
export function watchDirectory(
  dir: string,
  file: string,
  onEvent: () => void,
  options: {
    readonly checkMs: number;
    readonly clock: SourceClock;
    /** Called once, the first time the directory exists but cannot be watched (ENOSPC, EMFILE). */
    readonly onUnwatchable?: (err: unknown) => void;
  },
): DirectoryWatch {
  const { clock, checkMs } = options;
  let told = false;
  let watcher: FSWatcher | undefined;
  let armedOn: string | undefined;
  // Taken synchronously, before the first read, so a change right after `start()` is not lost.
  let last: Identity = { dir: identitySync(dir, false), file: identitySync(file, true) };
  let timer: TimerHandle | undefined;
  let closed = false;

  const disarm = (): void => {
    watcher?.close();
    watcher = undefined;
    armedOn = undefined;
  };

  const arm = (identity: string): void => {
    disarm();
    try {
      const w = watch(dir, { persistent: false }, () => onEvent());
      w.on('error', () => {
        if (watcher === w) disarm(); // re-armed by the next check
      });
      watcher = w;
      armedOn = identity;
    } catch (err) {
      // The directory is missing or unwatchable: the next check tries again.
      const code = (err as { code?: unknown } | null)?.code;
      if (!told && code !== 'ENOENT' && code !== 'ENOTDIR') {
        told = true;
        options.onUnwatchable?.(err);
      }
    }
  };

  const check = async (): Promise<void> => {
    const now = { dir: await identityOf(dir, false), file: await identityOf(file, true) };
    if (closed) return;
    if (now.dir !== armedOn) {
      if (!unreachable(now.dir)) {
        arm(now.dir);
        onEvent();
      } else if (armedOn !== undefined) {
        disarm(); // the directory is gone: a watch on its old inode hears nothing
        onEvent();
      } else if (now.dir !== last.dir || now.file !== last.file) {
        // Unreachable before and now, for another reason (a dangling link became a loop:
        // ENOENT → ELOOP): no watch hears it, so the check says it, and the read reports why.
        onEvent();
      }
    } else if (now.file !== last.file) onEvent();
    last = now;
  };

  const loop = (): void => {
    if (closed) return;
    timer = clock.setTimeout(() => {
      void check().finally(loop);
    }, checkMs);
  };

  if (!unreachable(last.dir)) arm(last.dir);
  loop();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      disarm();
    },
  };
}

/**
 * The identity of a path `stat` cannot reach, with the reason: `unreachable:ENOENT`,
 * `unreachable:ELOOP` (a symlink loop) … so that a change of reason is a change the check sees.
 */
const UNREACHABLE = 'unreachable:';

function unreachable(identity: string): boolean {
  return identity.startsWith(UNREACHABLE);
}

function unreachableBy(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return `${UNREACHABLE}${typeof code === 'string' ? code : 'error'}`;
}

/** `dev:ino` of a directory, or `dev:ino:size:mtime:ctime` of a file; symlinks followed. */
async function identityOf(path: string, withTimes: boolean): Promise<string> {
  try {
    return format(await stat(path, { bigint: true }), withTimes);
  } catch (err) {
    return unreachableBy(err);
  }
}

function identitySync(path: string, withTimes: boolean): string {
  try {
    const s = statSync(path, { bigint: true, throwIfNoEntry: false });
    return s ? format(s, withTimes) : `${UNREACHABLE}ENOENT`;
  } catch (err) {
    return unreachableBy(err);
  }
}

function format(s: BigIntStats, withTimes: boolean): string {
  const base = `${s.dev}:${s.ino}`;
  return withTimes ? `${base}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : base;
}
