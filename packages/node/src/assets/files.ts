import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { VERSION_PATTERN } from '@graylane/core';

/**
 * Most version folders looked through for a file missing from the own lane: a request for a
 * name that exists nowhere costs at most this many extra lookups (a site ships a handful of
 * versions at a time).
 */
export const MAX_LANES_SEARCHED = 16;

/** An open regular file inside a lane folder. The caller closes `handle`. */
export interface LaneFile {
  readonly handle: FileHandle;
  readonly stat: Stats;
  /** The lane folder it came from. */
  readonly lane: string;
}

/** Why a file was not opened (closed set, a counter label). */
export type FileMiss = 'not_found' | 'escape' | 'not_file';

// O_NONBLOCK: opening a FIFO planted in the build folder returns at once instead of parking a
// libuv thread until a writer appears. O_NOFOLLOW: the path is already canonical; a symlink
// swapped in after the check fails instead of being followed.
export const OPEN_FLAGS =
  constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * The canonical path of `<root>/<version>/` when it is a folder (it may be a symlink, as with
 * `ln -sfn` deploys), else `undefined`. `version` must already be a validated label.
 */
export async function laneFolder(root: string, version: string): Promise<string | undefined> {
  if (!VERSION_PATTERN.test(version)) return undefined;
  try {
    const real = await realpath(join(root, version));
    return (await stat(real)).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/** A regular file found inside a lane folder, not opened. */
export interface FoundFile {
  /** Its canonical path (inside the lane folder). */
  readonly path: string;
  readonly stat: Stats;
}

/**
 * Finds `segments` (already checked by `safePath`) inside the canonical lane folder `folder`.
 * The canonical target must stay inside `folder` (a symlink pointing out of the build is not
 * served) and must be a regular file (no folders, FIFOs, sockets or devices).
 */
export async function findInLane(
  folder: string,
  segments: readonly string[],
): Promise<FoundFile | FileMiss> {
  let real: string;
  try {
    real = await realpath(join(folder, ...segments));
  } catch {
    return 'not_found';
  }
  if (!real.startsWith(folder + sep)) return 'escape';
  try {
    const st = await stat(real);
    return st.isFile() ? { path: real, stat: st } : 'not_file';
  } catch {
    return 'not_found';
  }
}

/** Opens what {@link findInLane} finds; the handle's own `fstat` must still be a regular file. */
export async function openInLane(
  folder: string,
  lane: string,
  segments: readonly string[],
): Promise<LaneFile | FileMiss> {
  const found = await findInLane(folder, segments);
  if (typeof found === 'string') return found;
  let handle: FileHandle;
  try {
    handle = await open(found.path, OPEN_FLAGS);
  } catch {
    return 'not_found';
  }
  try {
    const st = await handle.stat();
    if (st.isFile()) return { handle, stat: st, lane };
  } catch {
    // fall through: treated as missing
  }
  await handle.close().catch(() => undefined);
  return 'not_file';
}
