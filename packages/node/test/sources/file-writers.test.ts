import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { systemClock, type ConfigEvent, type SourceClock } from '@graylane/core';
import { afterAll, describe, it } from 'vitest';
import { createSettledReader } from '../../src/sources/file/read.js';
import { createFileSource } from '../../src/sources/index.js';
import {
  paddedRules,
  quietLogger,
  recordingStore,
  sleep,
  tempDir,
  waitFor,
  weights,
} from './helpers.js';

// How a deployer puts a new document at the path decides how soon the file source may read it.
// A new file with one link at the same file name (temp + rename, an editor's save, deleted and
// created again; or in a swapped directory: a ConfigMap `..data` swap, a release link) that holds
// a whole JSON object is read at once: one still being written by the writer that created it holds
// a prefix, which is never a whole object. The same inode written in place (a torn old/new mix can
// be a valid document, FLT-10), a file the path reaches by a symlink retargeted to another name or
// that has a second link (either may be an existing file being written in place), and a new file
// not yet whole, are read only once they have stayed unchanged for `settleMs`. Every row: never a
// partial or torn document applied or reported (I5), one change.

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

/** Two weighted rules (both `w`) around a pad: every old/new mix of equal length is valid JSON. */
const mk = (w: number, pad = 8_000): string => paddedRules(w, w, pad);
const OLD = mk(10);
const NEW = mk(90);
/** An offset inside the pad rule's value. */
const PAD_AT = NEW.indexOf('pppp');

/**
 * Where the document lives: a plain file, a ConfigMap volume, a symlink to a file, or a file in
 * a release directory reached through a link (`current → releases/1`). Every layout also holds
 * `b.json` and `other/b.json` with the old document: existing files a writer may edit in place.
 */
type Layout = 'file' | 'configmap' | 'link' | 'release';
interface Target {
  readonly dir: string;
  /** The path the source watches. */
  readonly path: string;
  /** Resolves once the source has looked at the file: a settle wait began or a change applied. */
  readonly looked: () => Promise<void>;
}

function layOut(layout: Layout): Omit<Target, 'looked'> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'rules.json');
  if (layout === 'file') writeFileSync(path, OLD);
  if (layout === 'configmap') {
    mkdirSync(join(dir, '..2026_01_01_00_00_00.1'));
    writeFileSync(join(dir, '..2026_01_01_00_00_00.1', 'rules.json'), OLD);
    symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
    symlinkSync('..data/rules.json', path);
  }
  if (layout === 'link') {
    writeFileSync(join(dir, 'v1.json'), OLD);
    symlinkSync('v1.json', path);
  }
  writeFileSync(join(dir, 'b.json'), OLD);
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'other', 'b.json'), OLD);
  if (layout === 'release') {
    mkdirSync(join(dir, 'releases', '1'), { recursive: true });
    writeFileSync(join(dir, 'releases', '1', 'rules.json'), OLD);
    symlinkSync(join('releases', '1'), join(dir, 'current'));
    return { dir, path: join(dir, 'current', 'rules.json') };
  }
  return { dir, path };
}

// A chunked writer waits after its first chunk until the source has looked at the file (so a
// read of the half-written file is certain, whatever the load), then pauses 40 ms between the
// others, well inside the 150 ms settle wait: the wait began after a read, the next chunk is
// due before it ends, and Node fires timers in due order, so the re-read always sees it.
const CHUNK = 3 * 1024;
const PAUSE_MS = 40;
const SETTLE_MS = 150;

/** Writes `text` into an open file front to back from `from`, `CHUNK` bytes at a time. */
async function chunks(
  fd: number,
  text: string,
  looked?: () => Promise<void>,
  from = 0,
): Promise<void> {
  for (let at = from; at < text.length; at += CHUNK) {
    if (at > 0) await (at === CHUNK && looked ? looked() : sleep(PAUSE_MS));
    writeSync(fd, text.slice(at, at + CHUNK), at);
  }
  closeSync(fd);
}

/**
 * An existing file written in place while the path is pointed at it: its first chunk is written
 * (now a torn mix, `a=90 b=10`: valid, and a document nobody wrote), `point()` makes the path
 * lead to it, and the rest follows once the source has looked.
 */
async function pointedMidWrite(
  file: string,
  text: string,
  point: () => void,
  looked: () => Promise<void>,
): Promise<void> {
  const fd = openSync(file, 'r+');
  writeSync(fd, text.slice(0, CHUNK), 0);
  point();
  await chunks(fd, text, looked, CHUNK);
}

/** `ln -sfn target link`: a new link renamed over the old one. */
function retarget(target: string, link: string): void {
  symlinkSync(target, `${link}.new`);
  renameSync(`${link}.new`, link);
}

interface Writer {
  readonly name: string;
  readonly layout?: Layout;
  /**
   * `at once`: applied with no settle wait; `settled`: after one or more; `by inode`: at once
   * when the new file got another inode number, settled when the filesystem gave it the number
   * just freed (ext4 reuses a freed number at once, tmpfs never does): then it cannot be told
   * from an in-place write.
   */
  readonly read: 'at once' | 'settled' | 'by inode';
  readonly write: (t: Target, text: string) => Promise<void> | void;
}

const WRITERS: Writer[] = [
  {
    name: 'FLT-09 rename over (temp file + rename, as the bench and most deployers write)',
    read: 'at once',
    write: ({ path }, text) => {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    },
  },
  {
    name: 'FLT-09 rename over, the temp file written in chunks first (events meanwhile read the old file, at rest)',
    read: 'at once',
    write: async ({ dir, path }, text) => {
      await chunks(openSync(join(dir, '.rules.json.swp'), 'w'), text);
      await sleep(SETTLE_MS); // the temp file's events were read: only the rename is left
      renameSync(join(dir, '.rules.json.swp'), path);
    },
  },
  {
    name: 'FLT-09 editor backup-rename save (vim, emacs: rename to rules.json~, write anew, drop the backup)',
    read: 'at once',
    write: ({ path }, text) => {
      renameSync(path, `${path}~`);
      writeFileSync(path, text, { flag: 'wx' });
      rmSync(`${path}~`);
    },
  },
  {
    name: 'FLT-09 JetBrains safe write (temp, old renamed away, temp renamed in, old removed)',
    read: 'at once',
    write: ({ path }, text) => {
      writeFileSync(`${path}___jb_tmp___`, text);
      renameSync(path, `${path}___jb_old___`);
      renameSync(`${path}___jb_tmp___`, path);
      rmSync(`${path}___jb_old___`);
    },
  },
  {
    name: 'FLT-11 Kubernetes ConfigMap (new timestamped dir, ..data_tmp link renamed over ..data)',
    layout: 'configmap',
    read: 'at once',
    write: ({ dir }, text) => {
      mkdirSync(join(dir, '..2026_01_01_00_01_00.2'));
      writeFileSync(join(dir, '..2026_01_01_00_01_00.2', 'rules.json'), text);
      symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
    },
  },
  {
    name: 'FLT-11 release link swapped (current → releases/2 with ln -sfn; the path runs through it)',
    layout: 'release',
    read: 'at once',
    write: ({ dir }, text) => {
      mkdirSync(join(dir, 'releases', '2'));
      writeFileSync(join(dir, 'releases', '2', 'rules.json'), text);
      retarget(join('releases', '2'), join(dir, 'current'));
    },
  },
  {
    name: 'FLT-09 symlinked file, its target renamed over (temp + rename beside v1.json)',
    layout: 'link',
    read: 'at once',
    write: ({ dir }, text) => {
      writeFileSync(join(dir, 'v1.json.tmp'), text);
      renameSync(join(dir, 'v1.json.tmp'), join(dir, 'v1.json'));
    },
  },
  {
    // Settled since the torn-mix rows below: another file name may be one being written in place.
    name: 'FLT-11 symlinked file retargeted to a new file (ln -sfn v2.json: another name, settled)',
    layout: 'link',
    read: 'settled',
    write: ({ dir, path }, text) => {
      writeFileSync(join(dir, 'v2.json'), text);
      retarget('v2.json', path);
    },
  },
  {
    name: 'I5 FLT-10 symlink retargeted (ln -sfn b.json) to a file beside it being written in place',
    layout: 'link',
    read: 'settled',
    write: ({ dir, path, looked }, text) =>
      pointedMidWrite(join(dir, 'b.json'), text, () => retarget('b.json', path), looked),
  },
  {
    name: 'I5 FLT-10 symlink retargeted to other/b.json (another directory and name) being written in place',
    layout: 'link',
    read: 'settled',
    write: ({ dir, path, looked }, text) =>
      pointedMidWrite(
        join(dir, 'other', 'b.json'),
        text,
        () => retarget(join('other', 'b.json'), path),
        looked,
      ),
  },
  {
    name: 'I5 FLT-10 hard link to a file being written in place renamed over the path (ln + mv)',
    read: 'settled',
    write: ({ dir, path, looked }, text) =>
      pointedMidWrite(
        join(dir, 'b.json'),
        text,
        () => {
          linkSync(join(dir, 'b.json'), `${path}.new`);
          renameSync(`${path}.new`, path);
        },
        looked,
      ),
  },
  {
    name: 'I5 FLT-10 ln -f b.json rules.json while b.json is being written in place',
    read: 'settled',
    write: ({ dir, path, looked }, text) =>
      pointedMidWrite(
        join(dir, 'b.json'),
        text,
        () => execFileSync('ln', ['-f', join(dir, 'b.json'), path]),
        looked,
      ),
  },
  {
    name: 'I5 FLT-10 symlinked file: a hard link to a file being written in place renamed over its target',
    layout: 'link',
    read: 'settled',
    write: ({ dir, looked }, text) =>
      pointedMidWrite(
        join(dir, 'b.json'),
        text,
        () => {
          linkSync(join(dir, 'b.json'), join(dir, 'v1.json.new'));
          renameSync(join(dir, 'v1.json.new'), join(dir, 'v1.json'));
        },
        looked,
      ),
  },
  {
    name: 'FLT-12 deleted and created again in one write (rm + cat >)',
    read: 'by inode',
    write: ({ path }, text) => {
      rmSync(path);
      writeFileSync(path, text, { flag: 'wx' });
    },
  },
  {
    name: 'FLT-12 coreutils install(1) (removes the destination, copies a new file)',
    read: 'by inode',
    write: ({ dir, path }, text) => {
      writeFileSync(join(dir, 'staged.json'), text);
      execFileSync('install', ['-m', '644', join(dir, 'staged.json'), path]);
    },
  },
  {
    name: 'FLT-10 in place, same size, in chunks with pauses (no truncate: torn mixes are valid)',
    read: 'settled',
    write: ({ path, looked }, text) => chunks(openSync(path, 'r+'), text, looked),
  },
  {
    name: 'FLT-10 truncate, then chunks with pauses',
    read: 'settled',
    write: ({ path, looked }, text) => chunks(openSync(path, 'w'), text, looked),
  },
  {
    name: 'FLT-10 deleted, created again, then chunks with pauses (a new inode not yet whole)',
    read: 'settled',
    write: ({ path, looked }, text) => {
      rmSync(path);
      return chunks(openSync(path, 'wx'), text, looked);
    },
  },
  {
    name: 'FLT-10 editor backup-rename save written in chunks with pauses',
    read: 'settled',
    write: async ({ path, looked }, text) => {
      renameSync(path, `${path}~`);
      await chunks(openSync(path, 'wx'), text, looked);
      rmSync(`${path}~`);
    },
  },
  {
    name: 'FLT-10 coreutils cp over the file (same inode, truncated and rewritten: whole, still settled)',
    read: 'settled',
    write: ({ dir, path }, text) => {
      writeFileSync(join(dir, 'staged.json'), text);
      execFileSync('cp', [join(dir, 'staged.json'), path]);
    },
  },
  {
    name: 'FLT-10 in place, one write of a whole document (same inode: still settled)',
    read: 'settled',
    write: ({ path }, text) => writeFileSync(path, text),
  },
];

/**
 * The system clock, counting the settle waits the source asks for (timers of exactly
 * `settleMs`; the coalescer's are ≤ 1 s and the re-arm check's 10 min). The first — `start()`'s
 * wait on a file nothing had compared yet — fires at once: the file was written before the test.
 */
function settleClock(settleMs: number): SourceClock & { waits: number } {
  const c: SourceClock & { waits: number } = {
    waits: 0,
    now: () => systemClock.now(),
    wallNow: () => systemClock.wallNow(),
    setTimeout: (fn, ms) => {
      if (ms !== settleMs) return systemClock.setTimeout(fn, ms);
      c.waits++;
      return systemClock.setTimeout(fn, c.waits === 1 ? 0 : ms);
    },
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
  return c;
}

// Rows run together (each has its own directory, source and clock): the verdicts rest on the order
// of timers in this process, not on wall time, so sharing the event loop changes none of them.
describe.concurrent(
  'a file replaced by a whole document is read at once; one written in place settles first',
  () => {
    for (const writer of WRITERS)
      it(`${writer.name}: ${writer.read}`, async ({ expect }) => {
        const laidOut = layOut(writer.layout ?? 'file');
        // Read at once: a settle wait of a minute would stall the test, so an apply within the
        // test's time proves the path as well as the count of waits does.
        const settleMs = writer.read === 'at once' ? 60_000 : SETTLE_MS;
        const clock = settleClock(settleMs);
        const logger = quietLogger();
        const { store, events } = recordingStore();
        const source = createFileSource({
          path: laidOut.path,
          settleMs,
          // The release link is outside the watched directory (its target): the check sees it.
          rearmMs: writer.layout === 'release' ? 50 : 600_000,
          clock,
          logger,
        });
        await source.start(store);
        expect(events.map(weights)).toEqual(['a=10 b=10']);
        expect(clock.waits).toBe(1);
        events.length = 0;

        const target: Target = {
          ...laidOut,
          looked: () => waitFor(() => clock.waits > 1 || events.length > 0, 8_000, 'a read'),
        };
        const before = statSync(target.path).ino;
        await writer.write(target, NEW);
        const read =
          writer.read !== 'by inode'
            ? writer.read
            : statSync(target.path).ino !== before
              ? 'at once'
              : 'settled';
        // The first change must be the final document: a torn mix applied fails below without
        // waiting for what follows it. Read at once: fails at the first settle wait, not after it.
        await waitFor(
          () => events.length > 0 || (read === 'at once' && clock.waits > 1),
          8_000,
          'a change',
        );
        await sleep(SETTLE_MS); // anything after the final document would show here
        await source.stop();

        // Exactly one change, to the whole new document: no torn mix, prefix or rejection (I5).
        expect(events.map(weights)).toEqual(['a=90 b=90']);
        expect(logger.lines).toEqual([]);
        if (read === 'at once') expect(clock.waits).toBe(1);
        else expect(clock.waits).toBeGreaterThan(1);
      });
  },
);

// I5 on the fast path: a bad document renamed into place never replaces the good rules. One that
// is a whole JSON object is judged at once (the store rejects it); one that is not (it might be a
// file still being written) is judged only once it has settled, and then reported once.
const BAD: Array<[string, string | Buffer, 'at once' | 'settled']> = [
  [
    'a whole object the store refuses (unknown version)',
    mk(10).replace('"default":"stable"', '"default":"gold"'),
    'at once',
  ],
  [
    'a whole object the store refuses (weights ≠ 100)',
    mk(10).replace('"weight":90', '"weight":91'),
    'at once',
  ],
  ['truncated JSON (a deployer renamed a broken file)', NEW.slice(0, 500), 'settled'],
  ['0 bytes', '', 'settled'],
  ['a JSON array', '[1,2,3]', 'settled'],
  [
    'not UTF-8 (Latin-1 é in a value)',
    Buffer.concat([
      Buffer.from(NEW.slice(0, PAD_AT)),
      Buffer.from([0xe9]),
      Buffer.from(NEW.slice(PAD_AT + 1)),
    ]),
    'settled',
  ],
];

describe.concurrent('I5 a bad document renamed into place keeps the last good rules', () => {
  for (const [name, bytes, read] of BAD)
    it(`${name}: ${read}, rejected once`, async ({ expect }) => {
      const { dir, path } = layOut('file');
      const clock = settleClock(SETTLE_MS);
      const logger = quietLogger();
      const { store, events } = recordingStore();
      const source = createFileSource({
        path,
        settleMs: SETTLE_MS,
        rearmMs: 600_000,
        clock,
        logger,
      });
      await source.start(store);
      events.length = 0;
      writeFileSync(join(dir, 'next.tmp'), bytes);
      renameSync(join(dir, 'next.tmp'), path);
      await waitFor(() => source.status().state === 'stale', 8_000, 'the rejection');
      await sleep(SETTLE_MS);
      await source.stop();
      expect(events.filter((e) => e.type === 'change')).toEqual([]);
      expect(store.get().source).toBe('file');
      expect(weights({ type: 'change', snapshot: store.get() } as ConfigEvent)).toBe('a=10 b=10');
      expect(logger.lines).toHaveLength(1);
      expect(clock.waits).toBe(read === 'at once' ? 1 : 2);
    });
});

// The bytes the reader settled last, read again under another identity, are returned at once:
// they were judged whole already (nothing torn can be applied), and the identity changes without
// a write. So does a race that made the bench's temp + rename wait `settleMs` now and then: a read
// that opened the old file as the new one was renamed over it saw the old bytes with a new ctime
// (the unlink), as after `chmod`.
const UNCHANGED: Array<[string, (t: { dir: string; path: string }) => void]> = [
  ['touch -d (new mtime)', ({ path }) => utimesSync(path, new Date(), new Date(Date.now() + 9e3))],
  ['chmod (new ctime)', ({ path }) => chmodSync(path, 0o600)],
  [
    'a second link added (ln rules.json rules.bak: new ctime)',
    ({ dir, path }) => linkSync(path, join(dir, 'rules.bak')),
  ],
  ['rewritten in place with the same bytes (new mtime)', ({ path }) => writeFileSync(path, OLD)],
  [
    'the symlink retargeted to a copy with the same bytes (another name)',
    ({ path }) => retarget('b.json', path),
  ],
];

describe.concurrent('FLT-10 the settled bytes under a new identity are returned at once', () => {
  for (const [name, change] of UNCHANGED)
    it(name, async ({ expect }) => {
      const laidOut = layOut(name.startsWith('the symlink') ? 'link' : 'file');
      let waits = 0;
      const read = createSettledReader(laidOut.path, {
        quietMs: SETTLE_MS,
        wait: async () => void waits++,
      });
      const first = await read();
      expect(waits).toBe(1); // nothing to compare with yet
      await sleep(20); // a new ctime needs a new tick of the kernel's coarse clock
      change(laidOut);
      const again = await read();
      expect(again).toEqual(first);
      expect(waits).toBe(1);
    });
});

// The same bytes under another inode are returned at once (above), and that inode is what the
// reader compares with from then on: written in place later, it settles like any in-place write.
// Compared with the file it replaced, the write would pass for that file's arrival (one link,
// the same name) and a torn mix that parses would be applied at once (FLT-10).
const SAME_BYTES_ARRIVALS: Array<[string, Layout, (t: { dir: string; path: string }) => void]> = [
  [
    'a same-bytes copy renamed over the path (cp + mv)',
    'file',
    ({ dir, path }) => {
      writeFileSync(join(dir, 'copy.json'), OLD);
      renameSync(join(dir, 'copy.json'), path);
    },
  ],
  [
    'an editor backup-rename save of unchanged content',
    'file',
    ({ path }) => {
      renameSync(path, `${path}~`);
      writeFileSync(path, OLD, { flag: 'wx' });
      rmSync(`${path}~`);
    },
  ],
  [
    'deleted and created again with the same bytes',
    'file',
    ({ path }) => {
      rmSync(path);
      writeFileSync(path, OLD, { flag: 'wx' });
    },
  ],
  [
    'a ConfigMap swap that changed another key (..data now a new directory)',
    'configmap',
    ({ dir }) => {
      mkdirSync(join(dir, '..2026_01_01_00_01_00.2'));
      writeFileSync(join(dir, '..2026_01_01_00_01_00.2', 'rules.json'), OLD);
      symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    },
  ],
  [
    'a release link swapped to a directory with the same rules',
    'release',
    ({ dir }) => {
      mkdirSync(join(dir, 'releases', '2'));
      writeFileSync(join(dir, 'releases', '2', 'rules.json'), OLD);
      retarget(join('releases', '2'), join(dir, 'current'));
    },
  ],
  [
    'the symlink retargeted to a copy with the same bytes',
    'link',
    ({ path }) => retarget('b.json', path),
  ],
  [
    'its symlink target renamed over by a same-bytes copy',
    'link',
    ({ dir }) => {
      writeFileSync(join(dir, 'v1.json.tmp'), OLD);
      renameSync(join(dir, 'v1.json.tmp'), join(dir, 'v1.json'));
    },
  ],
  [
    'a hard link with the same bytes renamed over the path (ln + mv)',
    'file',
    ({ dir, path }) => {
      linkSync(join(dir, 'b.json'), `${path}.new`);
      renameSync(`${path}.new`, path);
    },
  ],
  ['touched (same inode, new times)', 'file', ({ path }) => chmodSync(path, 0o600)],
];

describe.concurrent(
  'I5 FLT-10 the same bytes under another inode, then written in place: settled',
  () => {
    for (const [name, layout, arrive] of SAME_BYTES_ARRIVALS)
      it(name, async ({ expect }) => {
        const laidOut = layOut(layout);
        // The writer goes on while the reader waits: a read that waited sees the torn mix change.
        let writer: number | undefined;
        let waits = 0;
        const read = createSettledReader(laidOut.path, {
          quietMs: SETTLE_MS,
          wait: async () => {
            waits++;
            if (writer === undefined) return;
            writeSync(writer, NEW.slice(CHUNK), CHUNK);
            closeSync(writer);
            writer = undefined;
          },
        });
        const first = await read();
        expect(waits).toBe(1);
        await sleep(20); // a new ctime needs a new tick of the kernel's coarse clock
        arrive(laidOut);
        expect(await read()).toEqual(first);
        expect(waits).toBe(1);

        // In place, no truncate: the first chunk makes a torn mix that is one valid document.
        const fd = openSync(laidOut.path, 'r+');
        writeSync(fd, NEW.slice(0, CHUNK), 0);
        writer = fd;
        const torn = await read();
        expect(JSON.parse(NEW.slice(0, CHUNK) + OLD.slice(CHUNK))).toBeTypeOf('object');
        expect(waits).toBe(2);
        expect(torn).toEqual({ kind: 'unsettled' });
        const done = await read();
        expect(done.kind === 'ok' && done.text).toBe(NEW);
        expect(waits).toBe(3);
      });
  },
);
