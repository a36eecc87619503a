import { createHash } from 'node:crypto';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import {
  decodeDocument,
  readBoundedFile,
  type BoundedRead,
  type DecodedDocument,
} from '../bounded-read.js';
import { isFinishedArrival, placeOf } from './place.js';
import { wholeDocument } from './whole.js';

/** One read of the config file: its text and the hash of its bytes, or why there is none. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | Exclude<BoundedRead, { readonly kind: 'ok' }>;

/** How a read waits out a writer. */
export interface Settle {
  /**
   * Content that did not arrive finished (written in place, new and not yet whole, reached by a
   * retargeted symlink or a hard link) must stay unchanged this long before it is applied
   * (FLT-10); `0`: no wait.
   */
  readonly quietMs: number;
  /** Resolves after `ms` on the source's clock (early when the source stops). */
  readonly wait: (ms: number) => Promise<void>;
}

/** Reads the config file, settled: see {@link createSettledReader}. */
export type SettledReader = () => Promise<FileRead>;

/** The identity and bytes of a read. */
interface Content {
  readonly identity: string;
  readonly bytes: Buffer;
}

/** Settled content, and the real path it was read at (`undefined`: unknown). */
interface Seen extends Content {
  readonly real: string | undefined;
}

const same = (a: Content, b: Content | undefined): boolean =>
  b !== undefined && a.identity === b.identity && a.bytes.equals(b.bytes);

/** `dev:ino` of an identity `dev:ino:size:mtime:ctime`. */
const inode = (identity: string): string => identity.split(':', 2).join(':');

/** The real path `path` leads to, if it still leads to the file `read` read; else undefined. */
async function realOf(path: string, read: Content): Promise<string | undefined> {
  const now = await placeOf(path);
  return now?.inode === inode(read.identity) ? now.real : undefined;
}

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
 * - the same bytes as the settled content, whatever the identity: returned at once. Those bytes
 *   were judged whole already, so nothing torn can be applied; and the identity changes without a
 *   write: `touch`, `chmod`, a link added or removed, and the file renamed over while a read had
 *   it open (the unlink sets its ctime), a race that made a temp + rename save wait `settleMs`.
 *   When it is another inode (a same-bytes copy renamed over, a directory swapped), that file
 *   becomes the settled one, so an in-place write to it later settles like any other;
 * - another inode that got to the path as a finished file does ({@link isFinishedArrival}: one
 *   link, and the path leads to the same file name — renamed over or created again there, or in
 *   a swapped directory such as a ConfigMap's `..data`) and whose bytes are a whole document
 *   ({@link wholeDocument}: a file created there and still being written is a prefix or has
 *   holes): returned at once;
 * - anything else — the same inode written in place (new times or size, or the same times with
 *   other bytes: 1–2 s timestamps), a symlink retargeted to another file or a hard link renamed
 *   over the path (that file may be being written in place: a torn mix), a new inode not yet
 *   whole, a file deleted and created again under the inode number just freed (ext4 hands it
 *   out at once), the first read after start (nothing to compare with) — is read again
 *   `quietMs` later on the source's clock and returned only if identity and bytes are
 *   unchanged; otherwise the read is `unsettled` and retried.
 *
 * A ctime comes from the file server's clock (NFS, SMB), which may be behind, ahead, or count
 * whole seconds, so the file's age decides nothing. Not detected: a writer pausing longer than
 * `quietMs` between chunks of an in-place write (raise `settleMs`, or write a temp file and
 * rename it, FLT-09), and the cases {@link isFinishedArrival} and {@link wholeDocument} name (an
 * existing file renamed over the path, or a directory swapped in, while it is written in place;
 * a new file changed after it was first whole).
 *
 * @example
 * ```ts
 * const read = createSettledReader('/etc/graylane/rules.json', { quietMs: 200, wait: sleep });
 * await read(); // the first read waits 200 ms; a file at rest or renamed into place does not
 * ```
 */
export function createSettledReader(path: string, settle?: Settle): SettledReader {
  const waits = settle !== undefined && settle.quietMs > 0 ? settle : undefined;
  let settled: Seen | undefined;
  return async () => {
    const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
    if (read.kind !== 'ok') return read;
    let decoded: DecodedDocument | undefined;
    if (waits && settled?.bytes.equals(read.bytes)) {
      // Whole already; but another inode (a same-bytes copy renamed over the path, a directory
      // swapped) is what a later in-place write will change: compare it with that file, not the
      // one it replaced, or that write would pass for an arrival (FLT-10).
      if (inode(read.identity) !== inode(settled.identity))
        settled = { identity: read.identity, bytes: read.bytes, real: await realOf(path, read) };
    } else if (waits) {
      const place =
        settled && inode(read.identity) !== inode(settled.identity)
          ? await placeOf(path)
          : undefined;
      if (isFinishedArrival(place, inode(read.identity), settled?.real)) {
        decoded = wholeDocument(read.bytes);
        if (decoded) settled = { identity: read.identity, bytes: read.bytes, real: place.real };
      }
      if (!decoded) {
        await waits.wait(waits.quietMs);
        const again = await readBoundedFile(path, MAX_CONFIG_BYTES);
        if (again.kind !== 'ok' || !same(again, read)) return { kind: 'unsettled' };
        settled = { identity: read.identity, bytes: read.bytes, real: await realOf(path, read) };
      }
    }
    decoded ??= decodeDocument(read.bytes);
    if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
    const hash = createHash('sha256').update(read.bytes).digest('hex');
    return { kind: 'ok', text: decoded.text, hash };
  };
}
