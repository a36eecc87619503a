import { createHash } from 'node:crypto';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { decodeDocument, readBoundedFile, type BoundedRead } from '../bounded-read.js';

/** One read of the config file: its text and the hash of its bytes, or why there is none. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | Exclude<BoundedRead, { readonly kind: 'ok' }>;

/** How a read waits out a writer. */
export interface Settle {
  /** A changed file must stay unchanged this long before it is applied (FLT-10); `0`: no wait. */
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

/**
 * Reads the config file: a regular file of at most {@link MAX_CONFIG_BYTES}, checked before any
 * byte is read (SRC-05), never half-written (FLT-10), a UTF-8 BOM dropped (SRC-05), and refused
 * when it is not UTF-8.
 *
 * Half-written: a read that overlaps a write is caught by the size/mtime re-check of
 * {@link readBoundedFile}, but a writer that pauses between chunks (and one that overwrites in
 * place without truncating, same size) leaves a file that is stable during the read and still
 * torn — and a torn mix of two valid documents can itself be valid. So the reader settles on
 * CHANGE, never on the file's age: it remembers the identity (`dev:ino:size:mtime:ctime`) and the
 * bytes of the last content it settled. A read that matches them is a file at rest and is
 * returned at once, with no wait. Any other read — the first one after start, a new inode, new
 * times, or the same times with other bytes (1–2 s timestamps) — is a change: the reader waits
 * `quietMs` on the source's clock, reads again, and returns the content only if identity and
 * bytes are unchanged; otherwise the read is `unsettled` and retried later.
 *
 * No timestamp is compared with a clock: a ctime comes from the file server's clock (NFS, SMB),
 * which may be behind (a file being written would look old) or ahead (every read would wait),
 * and may count whole seconds. A writer pausing longer than `quietMs` between chunks is not
 * detected (raise `settleMs`, or write a temp file and rename it, FLT-09).
 *
 * @example
 * ```ts
 * const read = createSettledReader('/etc/graylane/rules.json', { quietMs: 200, wait: sleep });
 * await read(); // the first read waits 200 ms; later reads of an unchanged file do not
 * ```
 */
export function createSettledReader(path: string, settle?: Settle): SettledReader {
  let settled: Seen | undefined;
  return async () => {
    const read = await readBoundedFile(path, MAX_CONFIG_BYTES);
    if (read.kind !== 'ok') return read;
    if (settle !== undefined && settle.quietMs > 0 && !same(read, settled)) {
      await settle.wait(settle.quietMs);
      const again = await readBoundedFile(path, MAX_CONFIG_BYTES);
      if (again.kind !== 'ok' || !same(again, read)) return { kind: 'unsettled' };
    }
    settled = { identity: read.identity, bytes: read.bytes };
    const decoded = decodeDocument(read.bytes);
    if (!decoded.ok) return { kind: 'refused', reason: decoded.reason };
    const hash = createHash('sha256').update(read.bytes).digest('hex');
    return { kind: 'ok', text: decoded.text, hash };
  };
}
