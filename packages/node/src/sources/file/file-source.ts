import { dirname, resolve } from 'node:path';
import {
  GraylaneError,
  type ConfigStore,
  type RuleSource,
  type SourceOptions,
  type TimerHandle,
  sourceRuntime,
  describeError,
  oneLine,
  reportFailedLoad,
} from '@graylane/core';
import { safeUpdate } from '../apply.js';
import { createCoalescer } from '../coalesce.js';
import { FILE_MIN_GAP_MS } from '../constants.js';
import { createSettledReader } from './read.js';
import { fileTimings } from './timings.js';
import { watchDirectory, type DirectoryWatch } from './watch.js';

/** Options of {@link createFileSource}. */
export interface FileSourceOptions extends SourceOptions {
  /** The JSON config file. Its directory is watched. */
  readonly path: string;
  /** Quiet time before a read. Default 20 ms; `0` reads at once (applies stay 100 ms apart). */
  readonly debounceMs?: number | undefined;
  /**
   * A file written in place (the same inode changed); a file the path newly leads to under
   * another name (a symlink retargeted) or with more than one link (a hard link renamed over the
   * path), either of which may be being written in place; a new file not yet one whole JSON
   * object; and the first read after `start()`: each is read again this long later, on the
   * source's clock, and applied only if unchanged (same inode, size, times and bytes), so a writer
   * pausing between chunks is never caught half-way (FLT-10). A file at rest, and a new file with
   * one link at the same file name (renamed over or created again: temp + `rename`, an editor's
   * save; or in a swapped directory: a ConfigMap `..data` swap) holding one whole JSON object, are
   * read at once: a file still being written there by the writer that created it is a prefix,
   * never a whole object. Not told apart: an existing file renamed over the path (or a directory
   * swapped in) while it is being written in place. No timestamp is compared with a clock (NFS/SMB
   * skew cannot switch it off). Default 200 ms; raise it for writers that pause longer, or `0` to
   * turn the wait off.
   */
  readonly settleMs?: number | undefined;
  /** Longest wait under a continuous event storm. Default 1 s; must be > 0. */
  readonly maxWaitMs?: number | undefined;
  /**
   * Also re-read every N ms and compare by content hash (filesystems without events). Default
   * off; `0` is off.
   */
  readonly pollIntervalMs?: number | undefined;
  /**
   * How often the watch checks that its directory is still the one at the path (removed and
   * recreated, a symlinked directory swapped) and that the file did not change unnoticed; a lost
   * watch is re-armed then. Default 500 ms (SRC-02, FLT-11: a change applies within 2 s); must
   * be > 0.
   */
  readonly rearmMs?: number | undefined;
}

/**
 * A rule source backed by a JSON file. Its timings are checked here, as the HTTP source's are:
 * a negative, NaN, infinite, non-number or over-2^31 ms value (or `0` for `maxWaitMs`/`rearmMs`)
 * throws `INVALID_OPTIONS`. It watches the file's directory, so editor atomic saves
 * (FLT-09) and Kubernetes ConfigMap symlink swaps (FLT-11) are seen — and read at once, with no
 * settle wait — and re-arms the watch when the directory is recreated or a symlinked directory is
 * swapped (SRC-02); coalesces event storms (FLT-15); never parses a file that is still being
 * written (FLT-10: an in-place write, a retargeted symlink and a hard link wait `settleMs`; see
 * `settleMs` for what cannot be told); refuses a file over 1 MiB, a FIFO or a device before
 * reading it and accepts a UTF-8 BOM (SRC-05); keeps the last-known-good
 * config while the file is missing and reloads when it comes back (FLT-12).
 *
 * @example
 * ```ts
 * const store = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
 * const file = createFileSource({ path: '/etc/graylane/rules.json' });
 * await file.start(store);
 * ```
 */
export function createFileSource(options: FileSourceOptions): RuleSource {
  if (typeof options?.path !== 'string')
    throw new GraylaneError('INVALID_OPTIONS', 'createFileSource: path is required');
  const timings = fileTimings(options);
  const path = resolve(options.path);
  const { name, clock, logger, status } = sourceRuntime(options, 'file');
  let store: ConfigStore | undefined;
  let watch: DirectoryWatch | undefined;
  let pollTimer: TimerHandle | undefined;
  let lastHash: string | undefined;
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  const shownPath = oneLine(path, 300);

  /** The settle wait: on the source's clock, cut short by stop(). */
  let wake: (() => void) | undefined;
  const settle = {
    quietMs: timings.settleMs,
    wait: (ms: number) =>
      new Promise<void>((done) => {
        if (stopped) return done();
        const timer = clock.setTimeout(() => {
          wake = undefined;
          done();
        }, ms);
        // The clock's timers are unref'd (a source never keeps a process alive), but this one
        // holds a read someone may be awaiting (`start()`): an empty event loop would exit the
        // process in the middle of it. It lasts at most `settleMs`.
        (timer as { ref?: () => unknown } | null)?.ref?.();
        wake = () => {
          clock.clearTimeout(timer);
          wake = undefined;
          done();
        };
      }),
  };

  /** A read that offered the store no document (counted as a failed load). */
  const problem = (problemText: string, error?: unknown): void => {
    lastHash = undefined; // the next good read is applied and reported, even with the old bytes
    reportFailedLoad(store, name);
    const message = oneLine(problemText);
    if (status.get().lastError !== message)
      logger.warn(
        `[graylane] config file ${shownPath}: ${message}; keeping the last good config`,
        error,
      );
    status.failed(message);
  };

  const readFile = createSettledReader(path, settle);
  // Since when every read found the file changing (a writer that never stops, a file whose size
  // the filesystem does not report, such as /proc's): said once it has lasted, not silently.
  let unsettledSince: number | undefined;

  const reload = async (): Promise<void> => {
    if (!store || stopped) return;
    const read = await readFile();
    if (stopped) return;
    if (read.kind !== 'unsettled') unsettledSince = undefined;
    switch (read.kind) {
      case 'unsettled': {
        const now = clock.now();
        unsettledSince ??= now;
        if (now - unsettledSince >= unsettledReportMs(timings.settleMs))
          problem(
            `the file keeps changing while it is read (${unsettledReportMs(timings.settleMs)} ms and more); read again once it is quiet`,
          );
        coalescer.trigger(); // A writer is busy: look again when it is quiet.
        return;
      }
      case 'missing':
        return problem('file missing');
      case 'refused':
        return problem(read.reason);
      case 'error':
        return problem(`read failed: ${String(read.error)}`, read.error);
      case 'ok':
        break;
    }
    if (read.hash === lastHash) return;
    lastHash = read.hash;
    // No revision: reads are serial within this source, and a store-wide guard keyed by the
    // source name would drop a re-created source or a second source with the same name (SRC-03).
    const result = safeUpdate(store, read.text, name);
    if (result.status === 'rejected') {
      const message = describeError(result.error);
      logger.warn(
        // The line has graylane's prefix already: not again before the problems (review 73 N5).
        `[graylane] config file ${shownPath} rejected; keeping the last good config: ${message.replace(/^\[graylane\] /, '')}`,
      );
      status.failed(message);
    } else {
      status.succeeded();
    }
  };
  const serialReload = (): Promise<void> => (chain = chain.then(reload, reload));
  const coalescer = createCoalescer(serialReload, {
    clock,
    delayMs: timings.debounceMs,
    minGapMs: Math.max(timings.debounceMs, FILE_MIN_GAP_MS),
    maxWaitMs: timings.maxWaitMs,
  });

  const poll = (): void => {
    const every = timings.pollIntervalMs;
    if (every === undefined || stopped) return;
    pollTimer = clock.setTimeout(() => {
      coalescer.trigger();
      poll();
    }, every);
  };

  return {
    name,
    async start(target) {
      if (store) return;
      store = target;
      watch = watchDirectory(dirname(path), path, coalescer.trigger, {
        clock,
        checkMs: timings.rearmMs,
        // Changes are still seen, by the periodic check: slower, so said once.
        onUnwatchable: (err) =>
          logger.warn(
            `[graylane] config file ${shownPath}: the directory cannot be watched (${oneLine(String((err as { code?: unknown } | null)?.code ?? err))}); changes are seen by a check every ${timings.rearmMs} ms`,
            err,
          ),
      });
      poll();
      await serialReload();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      wake?.();
      watch?.close();
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer);
      await coalescer.stop();
      await chain;
      status.stopped();
    },
    status: () => status.get(),
  };
}

/** How long a file may keep changing under every read before the source says so (ms). */
function unsettledReportMs(settleMs: number): number {
  return Math.max(2_000, 10 * settleMs);
}
