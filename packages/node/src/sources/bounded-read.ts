import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/** One bounded read of a config file. */
export type BoundedRead =
  | {
      readonly kind: 'ok';
      readonly bytes: Buffer;
      /**
       * `dev:ino:size:mtime:ctime` of what was read: a write or a replacement changes it (except
       * within one tick of a coarse clock: compare the bytes too).
       */
      readonly identity: string;
    }
  | { readonly kind: 'missing' }
  /** Size or mtime moved during the read: a writer is still busy (FLT-10). */
  | { readonly kind: 'unsettled' }
  /** Not something a config can be read from: too large, a FIFO, a device, a directory (SRC-05). */
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * `O_NONBLOCK`: opening a FIFO for reading returns at once instead of waiting for a writer (which
 * would hold a libuv thread and hang `start()`/`stop()`, SRC-05); regular files ignore the flag.
 * `O_NOCTTY`: a terminal device at the path never becomes the controlling terminal.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Reads a regular file of at most `maxBytes` without ever reading more than `maxBytes + 1` bytes
 * (SRC-05, CFG-07): `stat` first (a FIFO, device, socket or directory is refused before it is
 * opened), then a non-blocking open whose `fstat` is checked again (the path may have been
 * swapped in between), then a read bounded by the size, then `fstat` once more so a file that
 * grew or changed during the read is reported `unsettled` instead of handed to the parser.
 * Symlinks are followed, so a ConfigMap `..data` swap is seen (FLT-11).
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<BoundedRead> {
  let handle: FileHandle | undefined;
  try {
    const refused = refuse(await stat(path), maxBytes);
    if (refused) return refused;
    handle = await open(path, OPEN_FLAGS);
    const before = await handle.stat();
    const refusedNow = refuse(before, maxBytes);
    if (refusedNow) return refusedNow;
    // One byte more than the size: a file that grew since the stat is caught here.
    const buffer = Buffer.allocUnsafe(before.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const after = await handle.stat();
    if (length !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs)
      return { kind: 'unsettled' };
    return {
      kind: 'ok',
      bytes: buffer.subarray(0, length),
      identity: `${after.dev}:${after.ino}:${after.size}:${after.mtimeMs}:${after.ctimeMs}`,
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'error', error };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function refuse(stats: Stats, maxBytes: number): BoundedRead | undefined {
  if (!stats.isFile()) return { kind: 'refused', reason: `not a regular file (${kindOf(stats)})` };
  if (stats.size > maxBytes)
    return {
      kind: 'refused',
      reason: `file is ${stats.size} bytes, over the ${maxBytes}-byte limit`,
    };
  return undefined;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/** A config document's bytes as text, or why they are not one. */
export type DecodedDocument =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** Why a document that is not UTF-8 is refused (the same words everywhere). */
export const NOT_UTF8 =
  'not valid UTF-8 (a JSON document must be UTF-8, RFC 8259 §8.1; was it saved as Latin-1 or UTF-16?)';

/**
 * Decodes a config document's bytes as UTF-8, strictly, without a leading byte order mark
 * (editors on Windows write one; JSON.parse rejects it, SRC-05). Bytes that are not UTF-8 (a
 * Latin-1 `é`, UTF-16, a truncated sequence) are refused, never replaced by U+FFFD: a replaced
 * byte inside a matcher value makes a rule silently never match.
 *
 * @example
 * ```ts
 * decodeDocument(Buffer.from('\uFEFF{"versions":["stable"],"default":"stable"}')); // { ok: true, text: '{"versions":…' }
 * decodeDocument(Buffer.from([0x7b, 0xe9, 0x7d])); // { ok: false, reason: 'not valid UTF-8 …' }
 * ```
 */
export function decodeDocument(bytes: Uint8Array): DecodedDocument {
  try {
    // `ignoreBOM: false` (the default) drops one leading BOM; `fatal` throws on any bad byte.
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, reason: NOT_UTF8 };
  }
}
