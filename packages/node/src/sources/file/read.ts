import { createHash } from 'node:crypto';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { decodeDocument, readBoundedFile, type BoundedRead } from '../bounded-read.js';

/** One read of the config file: its text and the hash of its bytes, or why there is none. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | Exclude<BoundedRead, { readonly kind: 'ok' }>;

/** How a read waits out a writer. */
export interface Settle {
  /** The file must have been left alone this long before it is applied (FLT-10). */
  readonly quietMs: number;
  /** Resolves after `ms` (the source's clock; resolves early when the source stops). */
  readonly wait: (ms: number) => Promise<void>;
}

/**
 * Reads the config file: a regular file of at most {@link MAX_CONFIG_BYTES}, checked before any
 * byte is read (SRC-05), never half-written (FLT-10), a UTF-8 BOM dropped (SRC-05), and refused
 * when it is not UTF-8.
 *
 * Half-written: a read that overlaps a write is caught by the size/mtime re-check of
 * {@link readBoundedFile}, but a writer that pauses between chunks (and one that overwrites in
 * place without truncating, same size) leaves a file that is stable during the read and still
 * torn — and a torn mix of two valid documents can itself be valid. So a file that changed less
 * than `quietMs` ago (by its ctime, which every write sets and `touch -d` cannot move back) is
 * read again once it has been quiet that long, and applied only if its identity (inode, size,
 * times) and bytes are unchanged; otherwise the read is `unsettled` and retried later. The cost is
 * at most `quietMs` of latency after a change; a file at rest is read once, with no wait. A writer
 * pausing longer than `quietMs` between chunks is not detected (raise `settleMs`, or write a temp
 * file and rename it, FLT-09).
 */
export async function readSettledFile(path: string, settle?: Settle): Promise<FileRead> {
  const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
  if (read.kind !== 'ok') return read;
  const age = Date.now() - read.ctimeMs;
  if (settle !== undefined && settle.quietMs > 0 && !(age >= settle.quietMs)) {
    // A ctime in the future (clock skew, NFS) proves nothing: wait the whole quiet period.
    await settle.wait(age >= 0 ? settle.quietMs - age : settle.quietMs);
    const again = await readBoundedFile(path, MAX_CONFIG_BYTES);
    if (again.kind !== 'ok' || again.identity !== read.identity || !again.bytes.equals(read.bytes))
      return { kind: 'unsettled' };
  }
  const decoded = decodeDocument(read.bytes);
  if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
  const hash = createHash('sha256').update(read.bytes).digest('hex');
  return { kind: 'ok', text: decoded.text, hash };
}
