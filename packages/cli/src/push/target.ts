import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '@graylane/node/sources';
import { CliError } from '../io.js';
import { INPUT_LIMITS, decoded } from '../input/read.js';
import { etcdFailure, openEtcd } from '../input/etcd.js';
import { describeFsError, kindOf, readFileCapped } from '../input/file.js';
import type { Run } from '../input/run.js';
import { parseLocation } from '../location.js';
import { printable } from '../text.js';

/** What a push target holds right now. */
export interface TargetState {
  /** The document, `undefined` when the key or file does not exist. */
  readonly text: string | undefined;
  /** False when the stored bytes are not UTF-8 (then the current config counts as invalid). */
  readonly utf8: boolean;
  /** etcd: the key's `mod_revision` (`0` when absent); a file: `sha256:` + 16 hex (`absent`). */
  readonly revision: string;
  /** A file's bytes (to tell a UTF-16 config from something else); absent for etcd. */
  readonly bytes?: Uint8Array | undefined;
}

/** The outcome of a compare-and-swap write. */
export type WriteResult =
  | { readonly written: true; readonly revision: string }
  | { readonly written: false; readonly current: string }
  /**
   * The request failed after it may have reached the target (a timeout, a connection lost
   * mid-call): it may or may not have been applied. Never reported as "nothing written".
   */
  | { readonly written: 'unknown'; readonly error: string };

/** Where `graylane push` writes: an etcd key or a file, both with compare-and-swap. */
export interface Target {
  readonly display: string;
  read(): Promise<TargetState>;
  /** Writes `text` only if the target is still at `expected`. */
  write(text: string, expected: string): Promise<WriteResult>;
  close(): void;
}

/** Opens `etcd://…` / `etcds://…` or a file path as a push target (`-` is refused). */
export async function openTarget(text: string, run: Run): Promise<Target> {
  const location = parseLocation(text);
  switch (location.kind) {
    case 'stdin':
      throw new CliError('push writes to etcd://… or a file, not to - (stdout)', 2, 'usage');
    case 'file':
      return fileTarget(location.path);
    case 'etcd': {
      const { client, isAuthError } = await openEtcd(location, run);
      const fail = (err: unknown, doing: string): never => {
        throw etcdFailure(location, err, isAuthError, doing);
      };
      return {
        display: location.display,
        async read() {
          const doc = await client.read().catch((err: unknown) => fail(err, 'read'));
          return { text: doc.value, utf8: doc.utf8, revision: doc.modRevision };
        },
        async write(value, expected): Promise<WriteResult> {
          let r: Awaited<ReturnType<typeof client.compareAndPut>>;
          try {
            r = await client.compareAndPut(value, expected);
          } catch (err) {
            // Refused by etcd (credentials, role): certain that nothing was written.
            if (isAuthError(err)) return fail(err, 'write');
            // Anything else may have happened after the transaction reached etcd.
            return {
              written: 'unknown',
              error: etcdFailure(location, err, isAuthError, 'write').message,
            };
          }
          return r.written
            ? { written: true, revision: r.modRevision }
            : { written: false, current: r.current.modRevision };
        },
        close: () => client.close(),
      };
    }
  }
}

/** A file's revision: a prefix of its SHA-256 (64 bits: enough to tell two versions apart). */
function fileRevision(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}
const ABSENT = 'absent';

/** How long a push lock may be held before it counts as left behind by a crashed push. */
const STALE_LOCK_MS = 60_000;

function fileTarget(path: string): Target {
  /** A symlinked path (a ConfigMap-style layout) is written where it points, never replaced. */
  const resolved = async (): Promise<string> => realpath(path).catch(() => path);
  const readState = async (): Promise<TargetState> => {
    const real = await resolved();
    const info = await stat(real).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new CliError(`cannot read target ${printable(path)}: ${describeFsError(err)}`);
    });
    if (!info) return { text: undefined, utf8: true, revision: ABSENT };
    if (!info.isFile())
      throw new CliError(`target ${printable(path)} is not a regular file (it is ${kindOf(info)})`);
    const bytes = await readFileCapped(real, INPUT_LIMITS.config, 'target');
    return { ...decoded(bytes), revision: fileRevision(bytes), bytes };
  };
  return {
    display: path,
    read: readState,
    async write(text, expected) {
      const real = await resolved();
      const release = await lock(`${real}.graylane-push.lock`);
      try {
        const now = await readState();
        if (now.revision !== expected) return { written: false, current: now.revision };
        const mode = (await stat(real).catch(() => undefined))?.mode;
        await writeFileAtomic(real, text, { mode: mode === undefined ? 0o644 : mode & 0o7777 });
        return { written: true, revision: fileRevision(Buffer.from(text, 'utf8')) };
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`cannot write ${printable(path)}: ${describeFsError(err)}`);
      } finally {
        await release();
      }
    },
    close: () => undefined,
  };
}

/** How long a push waits for another push's lock on the same file. */
const LOCK_WAIT_MS = 5_000;
/** A takeover guard older than this was left by a crash inside the takeover itself. */
const STALE_GUARD_MS = 10_000;

/**
 * An exclusive lock file (`O_CREAT | O_EXCL`) around check-and-rename, so two pushes to the same
 * file serialise and the second sees the first's write as a conflict. A push waits up to
 * {@link LOCK_WAIT_MS} for another. A lock older than {@link STALE_LOCK_MS} was left by a crashed
 * push and is removed — but only under a takeover guard and after a second look, so two pushes
 * that both saw the stale lock can never both remove it (the second would remove the first's
 * fresh lock, and both would write from the same revision: a lost update). A push removes only
 * the lock it created (its token is in the file).
 */
async function lock(file: string): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomBytes(12).toString('hex')}\n`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (await createExclusive(file, token)) return () => releaseIfOurs(file, token);
    await removeIfStale(file, token);
    if (Date.now() > deadline)
      throw new CliError(
        `conflict: another push holds ${printable(file)}; try again, or remove it if no push is running`,
        3,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates `file` holding `token` if it does not exist; false if it does. */
async function createExclusive(file: string, token: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CliError(`cannot lock ${printable(file)}: ${describeFsError(err)}`);
  }
  try {
    await handle.writeFile(token);
  } finally {
    await handle.close();
  }
  return true;
}

const ageMs = async (file: string): Promise<number | undefined> => {
  const info = await stat(file).catch(() => undefined);
  return info && Date.now() - info.mtimeMs;
};

/** Removes a stale lock, one remover at a time, re-checking under the guard. */
async function removeIfStale(file: string, token: string): Promise<void> {
  if (((await ageMs(file)) ?? 0) <= STALE_LOCK_MS) return;
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, token))) {
    if (((await ageMs(guard)) ?? 0) > STALE_GUARD_MS) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    if (((await ageMs(file)) ?? 0) > STALE_LOCK_MS) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Unlinks the lock only if it is still ours (a lock taken over as stale is someone else's now). */
async function releaseIfOurs(file: string, token: string): Promise<void> {
  const held = await readFile(file, 'utf8').catch(() => undefined);
  if (held === token) await unlink(file).catch(() => undefined);
}
