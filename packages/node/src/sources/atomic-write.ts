import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the new file. Default `0o600` (a backup is nobody else's business). */
  readonly mode?: number | undefined;
}

/**
 * Writes a file so a crash leaves either the old or the new complete content, never a torn one
 * (FLT-14): write a temp file in the same directory, fsync it, rename it over the target, then
 * fsync the directory so the rename itself is durable.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/var/lib/app/graylane.backup.json', text);
 * await writeFileAtomic('/etc/graylane/rules.json', text, { mode: 0o644 });
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.mode ?? 0o600;
  try {
    const handle = await open(tmp, 'w', mode);
    try {
      // The umask narrows `open`'s mode; chmod makes the requested bits exact.
      await handle.chmod(mode);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
