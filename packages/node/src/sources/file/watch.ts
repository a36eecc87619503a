import { watch, type FSWatcher } from 'node:fs';
import type { SourceClock, TimerHandle } from '@graylane/core';

/** A directory watch that re-arms itself. */
export interface DirectoryWatch {
  close(): void;
}

/**
 * Watches a directory (not the file: an atomic save or a ConfigMap `..data` swap replaces the
 * file's inode and a file watch would go deaf, flagd#42 / k8s#112677). When the watch errors or
 * the directory vanishes, it is re-armed every `rearmMs`, and `onEvent` fires after each re-arm
 * so a change made while deaf is still read (FLT-11, FLT-12).
 */
export function watchDirectory(
  dir: string,
  onEvent: () => void,
  options: { readonly rearmMs: number; readonly clock: SourceClock },
): DirectoryWatch {
  const { clock, rearmMs } = options;
  let watcher: FSWatcher | undefined;
  let timer: TimerHandle | undefined;
  let closed = false;

  const rearmLater = (): void => {
    watcher?.close();
    watcher = undefined;
    if (closed || timer !== undefined) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (arm()) onEvent();
    }, rearmMs);
  };

  const arm = (): boolean => {
    if (closed) return false;
    try {
      watcher = watch(dir, { persistent: false }, (eventType, filename) => {
        // The watched directory itself was renamed or removed: the handle is now deaf.
        if (eventType === 'rename' && filename === null) rearmLater();
        onEvent();
      });
      watcher.on('error', rearmLater);
      return true;
    } catch {
      rearmLater();
      return false;
    }
  };

  arm();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}
