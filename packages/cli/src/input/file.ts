import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { CliError, InputTooLarge, readCapped } from '../io.js';
import { printable } from '../text.js';

/**
 * Opened without blocking: opening a FIFO for reading waits for a writer (forever, if none comes),
 * while with O_NONBLOCK it returns at once, and the check below refuses it. No effect on a regular
 * file. (Windows has no FIFOs, nor the flag.)
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a regular file of at most `maxBytes`, size-checked before it is read. Anything else at the
 * path — a FIFO, a device (`/dev/zero`), a directory, a socket — is refused at once, never read
 * (a FIFO nobody writes to would block the command forever, a device would never end): exit 2, as
 * `push` refuses such a target. A pipe is read as standard input, `-`.
 */
export async function readFileCapped(
  path: string,
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  const shown = printable(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, OPEN_FLAGS);
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(what, shown, stats);
    if (stats.size > maxBytes)
      throw new InputTooLarge(
        `${what} ${shown} is ${stats.size} bytes; the limit is ${maxBytes}`,
        maxBytes,
        stats.size,
      );
    const bytes = await readCapped(handle.createReadStream({ autoClose: false }), maxBytes);
    if (bytes === undefined)
      throw new InputTooLarge(`${what} ${shown} is larger than ${maxBytes} bytes`, maxBytes);
    return bytes;
  } catch (err) {
    if (err instanceof CliError) throw err;
    // A socket cannot be opened at all (ENXIO): name what is there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'EISDIR') {
      const stats = await stat(path).catch(() => undefined);
      if (stats && !stats.isFile()) throw notRegular(what, shown, stats);
    }
    throw new CliError(`cannot read ${what} ${shown}: ${describeFsError(err)}`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function notRegular(what: string, shown: string, stats: Stats): CliError {
  return new CliError(
    `${what} ${shown} is not a regular file (it is ${kindOf(stats)}); to read a pipe, give - (standard input)`,
  );
}

/** What is at a path that is not a regular file. */
export function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/** A short reason for a filesystem error. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    default:
      return printable(code || String((err as Error)?.message ?? err));
  }
}
