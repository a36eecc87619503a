import { createHash } from 'node:crypto';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { decodeDocument, readBoundedFile, type BoundedRead } from '../bounded-read.js';
import { wholeDocument } from './whole.js';

/** One read of the config file: its text and the hash of its bytes, or why there is none. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | Exclude<BoundedRead, { readonly kind: 'ok' }>;

/** How a read waits out a writer. */
export interface Settle {
  /**
   * A file written in place (or new and not yet whole) must stay unchanged this long before it
   * is applied (FLT-10); `0`: no wait.
   */
  readonly quietMs: number;
  /** Resolves after `ms` on the source's clock (early when the source stops). */
  readonly wait: (ms: number) => Promise<void>;
}

/** Reads the config file, settled: see {@link createSettledReader}. */
export type SettledReader = () => Promise<FileRead>;

/** The identity and bytes of a read. */
interface Seen {
  readonly identity: string;
  readonly bytes: Buffer;
}

const same = (a: Seen, b: Seen | undefined): boolean =>
  b !== undefined && a.identity === b.identity && a.bytes.equals(b.bytes);

/** `dev:ino` of an identity `dev:ino:size:mtime:ctime`. */
const inode = (identity: string): string => identity.split(':', 2).join(':');

/**
 * Reads the config file: a regular file of at most {@link MAX_CONFIG_BYTES}, checked before any
 * byte is read (SRC-05), never half-written (FLT-10), a UTF-8 BOM dropped (SRC-05), and refused
 * when it is not UTF-8.
 *
 * Half-written: a read that overlaps a write is caught by the size/mtime re-check of
 * {@link readBoundedFile}, but a writer that pauses between chunks (and one that overwrites in
 * place without truncating, same size) leaves a file that is stable during the read and still
 * torn — and a torn mix of two valid documents can itself be valid. So the reader compares each
 * read with the last content it settled (identity `dev:ino:size:mtime:ctime` and bytes); no
 * timestamp is ever compared with a clock:
 *
 * - the same identity and bytes: the file is at rest; returned at once;
 * - another inode (replaced: temp file + `rename`, a ConfigMap `..data` swap, an editor's save,
 *   deleted and created again under another inode number — ext4 hands out the number just
 *   freed, and such a file is then taken for an in-place write) whose bytes are a whole document
 *   ({@link wholeDocument}: a new inode holds no old bytes, and a file still being written there
 *   is a prefix or has holes): returned at once;
 * - anything else — the same inode written in place (new times or size, or the same times with
 *   other bytes: 1–2 s timestamps), a new inode not yet whole, the first read after start
 *   (nothing to compare with) — is read again `quietMs` later on the source's clock and returned
 *   only if identity and bytes are unchanged; otherwise the read is `unsettled` and retried.
 *
 * A ctime comes from the file server's clock (NFS, SMB), which may be behind, ahead, or count
 * whole seconds, so the file's age decides nothing. A writer pausing longer than `quietMs`
 * between chunks of an in-place write is not detected (raise `settleMs`, or write a temp file
 * and rename it, FLT-09).
 *
 * @example
 * ```ts
 * const read = createSettledReader('/etc/graylane/rules.json', { quietMs: 200, wait: sleep });
 * await read(); // the first read waits 200 ms; a file at rest or renamed into place does not
 * ```
 */
export function createSettledReader(path: string, settle?: Settle): SettledReader {
  let settled: Seen | undefined;
  return async () => {
    const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
    if (read.kind !== 'ok') return read;
    const waits = settle !== undefined && settle.quietMs > 0 ? settle : undefined;
    const replaced =
      waits && settled !== undefined && inode(read.identity) !== inode(settled.identity)
        ? wholeDocument(read.bytes)
        : undefined;
    if (waits && !replaced && !same(read, settled)) {
      await waits.wait(waits.quietMs);
      const again = await readBoundedFile(path, MAX_CONFIG_BYTES);
      if (again.kind !== 'ok' || !same(again, read)) return { kind: 'unsettled' };
    }
    settled = { identity: read.identity, bytes: read.bytes };
    const decoded = replaced ?? decodeDocument(read.bytes);
    if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
    const hash = createHash('sha256').update(read.bytes).digest('hex');
    return { kind: 'ok', text: decoded.text, hash };
  };
}
