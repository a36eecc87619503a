import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { findInLane, laneFolder, OPEN_FLAGS, type LaneFile } from './files.js';
import { otherLanes } from './lanes.js';
import { MAX_COMPARED_BYTES, MAX_DIGESTS } from './limits.js';
import type { ResolvedAssetOptions } from './options.js';

/** Bytes read per step when a file is hashed. */
const CHUNK = 64 * 1024;

/**
 * SHA-256 digests of files, by file version (device, inode, size, modification and change
 * time), at most `max` ({@link MAX_DIGESTS}), the least recently asked forgotten first: each
 * version is read once, however many requests ask, while the files in use fit (review 146: a
 * first-in-first-out cap made a site with more hashed files than the cap hash both copies on
 * every request).
 */
export class Digests {
  private readonly known = new Map<string, Promise<string | undefined>>();

  constructor(private readonly max: number = MAX_DIGESTS) {}

  /** The digest of the open `handle`, whose `fstat` is `stat`; `undefined` when it fails. */
  of(handle: FileHandle, stat: Stats): Promise<string | undefined> {
    const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    const cached = this.known.get(key);
    if (cached) {
      // Most recently asked last: a Map iterates in insertion order.
      this.known.delete(key);
      this.known.set(key, cached);
      return cached;
    }
    const digest: Promise<string | undefined> = hash(handle, stat.size).catch(() => {
      // A failed read is not remembered: the next request reads again.
      if (this.known.get(key) === digest) this.known.delete(key);
      return undefined;
    });
    this.known.set(key, digest);
    if (this.known.size > this.max) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    return digest;
  }
}

async function hash(handle: FileHandle, size: number): Promise<string> {
  const sha = createHash('sha256');
  const buffer = Buffer.alloc(Math.max(1, Math.min(size, CHUNK)));
  for (let at = 0; at < size;) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
    if (bytesRead === 0) break;
    sha.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return `${size}:${sha.digest('base64url')}`;
}

/**
 * How the copies of a file agree across the lanes: `differ` (some lane holds other bytes under
 * the name), `every_lane` (every lane with a build holds the same bytes), `some_lanes` (no lane
 * holds other bytes, but some lane's build has no copy: a later deploy may put other bytes there).
 */
export type CopiesAgreement = 'differ' | 'every_lane' | 'some_lanes';

/**
 * Compares `file`, which came from lane `own`, with its copies in the other lanes (see
 * `otherLanes`, and `also`: the visitor's lane, which may lack it): a name that looks
 * content-addressed is only shared by every lane (cached a year by CDNs, lent to lanes that lack
 * it) when it really is. A lane without a build folder is served the fallback's, and is not
 * counted. Copies are compared by size, then by identity (a hard link, a lane folder symlinked to
 * the same release), then by digest (up to {@link MAX_COMPARED_BYTES}; larger ones of the same
 * size count as different).
 */
export async function compareCopies(
  o: ResolvedAssetOptions,
  own: string,
  segments: readonly string[],
  file: LaneFile,
  also?: string,
): Promise<CopiesAgreement> {
  const lanes = otherLanes(o, own);
  if (also !== undefined && also !== own && !lanes.includes(also)) lanes.push(also);
  let everyLane = true;
  for (const name of lanes) {
    const folder = await laneFolder(o.root, name);
    if (!folder) continue;
    const copy = await findInLane(folder, segments);
    if (typeof copy === 'string') everyLane = false;
    else if (!(await sameBytes(o.digests, file, copy.path, copy.stat))) return 'differ';
  }
  return everyLane ? 'every_lane' : 'some_lanes';
}

async function sameBytes(
  digests: Digests,
  file: LaneFile,
  path: string,
  stat: Stats,
): Promise<boolean> {
  const a = file.stat;
  if (a.size !== stat.size) return false;
  if (a.dev === stat.dev && a.ino === stat.ino) return true;
  if (a.size > MAX_COMPARED_BYTES) return false;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, OPEN_FLAGS);
    // The copy as it is now (a deploy may have replaced it since it was found).
    const now = await handle.stat();
    if (!now.isFile() || now.size !== a.size) return false;
    const [mine, theirs] = await Promise.all([digests.of(file.handle, a), digests.of(handle, now)]);
    return mine !== undefined && mine === theirs;
  } catch {
    return false;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
