import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';

/** Where the config path leads: the file's real path (symlinks resolved), `dev:ino` and links. */
export interface Place {
  readonly real: string;
  readonly inode: string;
  readonly links: number;
}

/** Where `path` leads now, or `undefined` when it does not resolve (gone, mid-swap). */
export async function placeOf(path: string): Promise<Place | undefined> {
  try {
    const real = await realpath(path);
    const s = await stat(real);
    return { real, inode: `${s.dev}:${s.ino}`, links: s.nlink };
  } catch {
    return undefined;
  }
}

/**
 * Whether the file a read found at the path (inode `read`, another than the settled one's) got
 * there the way a finished file does, so its bytes cannot be a torn mix of two documents:
 * `place` (taken after the read) is still that inode, the inode has one name, and the path leads
 * to a file of the same name as the settled content's (`settledReal`):
 *
 * - in the same directory: that name was renamed over or deleted and created again (temp file +
 *   `rename`, the saves of vim, emacs, JetBrains IDEs and `sed -i`, `rm` + write, `install`);
 * - in another directory: a directory was swapped (Kubernetes' AtomicWriter writes every key
 *   into a new `..<timestamp>` directory and then renames a `..data_tmp` link to it over `..data`,
 *   so `rules.json → ..data/rules.json` resolves to `..<new timestamp>/rules.json`; a release
 *   link `current → releases/N` swapped with `ln -sfn`).
 *
 * The path leading to another file name (a symlink retargeted, `ln -sfn v2.json rules.json`), or
 * an inode with another name too (a hard link renamed over the path, `ln -f b.json rules.json`),
 * is `false`: that other name is an existing file, and someone may be writing it in place.
 *
 * What this cannot tell, and takes for finished: an existing file being written in place that is
 * renamed over the path (`mv b.json rules.json` mid-write; or hard-linked there with its other name
 * then removed: the inode moves with its writer still writing), and a directory swapped in whose
 * file of that name is being written in place (two directories flipped while one is edited).
 * Write the new file or directory completely before it is renamed or linked into place.
 *
 * @example
 * ```ts
 * const place = await placeOf('/etc/config/rules.json'); // { real: '/etc/config/..2026_12_02_10_00_00.1/rules.json', … }
 * isFinishedArrival(place, '2049:18', '/etc/config/..2026_12_01_09_00_00.7/rules.json'); // true when 2049:18 has one link
 * ```
 */
export function isFinishedArrival(
  place: Place | undefined,
  read: string,
  settledReal: string | undefined,
): place is Place {
  return (
    place !== undefined &&
    settledReal !== undefined &&
    place.inode === read &&
    place.links === 1 &&
    basename(place.real) === basename(settledReal)
  );
}
