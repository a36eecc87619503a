import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/** One read of the config file. */
export type FileRead =
  | { readonly kind: 'ok'; readonly text: string; readonly hash: string }
  | { readonly kind: 'missing' }
  /** Size or mtime moved during the read: a writer is still busy (FLT-10). */
  | { readonly kind: 'unsettled' }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Reads the file (following symlinks, so a ConfigMap `..data` swap is seen, FLT-11) between two
 * `stat`s; if they disagree, or the bytes read do not match the size, the file is mid-write and
 * the read is reported `unsettled` instead of handing a partial document to the parser.
 */
export async function readSettledFile(path: string): Promise<FileRead> {
  try {
    const before = await stat(path);
    const bytes = await readFile(path);
    const after = await stat(path);
    if (
      before.size !== after.size ||
      before.mtimeMs !== after.mtimeMs ||
      before.ino !== after.ino ||
      bytes.length !== after.size
    ) {
      return { kind: 'unsettled' };
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    return { kind: 'ok', text: bytes.toString('utf8'), hash };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'error', error };
  }
}
