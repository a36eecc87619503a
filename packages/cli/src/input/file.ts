import { open } from 'node:fs/promises';
import { CliError, readCapped } from '../io.js';

/**
 * Reads a file of at most `maxBytes`: a regular file is size-checked before it is read; a pipe
 * (`<(…)`, a FIFO) is read up to the cap. A directory or an oversized file is a clear error.
 */
export async function readFileCapped(
  path: string,
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new CliError(`cannot read ${what} ${path}: is a directory`);
    if (stats.isFile() && stats.size > maxBytes)
      throw new CliError(`${what} ${path} is ${stats.size} bytes; the limit is ${maxBytes}`);
    const bytes = await readCapped(handle.createReadStream({ autoClose: false }), maxBytes);
    if (bytes === undefined) throw new CliError(`${what} ${path} is larger than ${maxBytes} bytes`);
    return bytes;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${what} ${path}: ${describeFsError(err)}`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
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
      return code || String((err as Error)?.message ?? err);
  }
}
