import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConfigStore, MAX_CONFIG_BYTES, type ConfigStore } from '@graylane/core';
import { createFileSource, startSources } from '@graylane/node/sources';
import { sleep, waitFor } from './helpers.js';

/**
 * SRC-02 (the watched directory is recreated or swapped behind a symlink), SRC-03 (file sources
 * are never dropped as stale by a name-keyed guard) and SRC-05 (file size, type and encoding)
 * against real files in temp dirs, through the built `@graylane/node/sources`.
 */

/** FLT-11 bound: a change applies within 2 s. */
const FLT_11_MS = 2_000;
const quiet = { warn: () => undefined, error: () => undefined };
const doc = (id: string, def = 'stable'): string =>
  JSON.stringify({ versions: ['stable', 'beta'], default: def, rules: [{ id, version: 'beta' }] });
const ruleOf = (store: ConfigStore): string | undefined => store.get().config.rules[0]?.id;
const newStore = (): ConfigStore => createConfigStore({ initial: doc('embedded') });

const root = mkdtempSync(join(tmpdir(), 'graylane-src-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
let n = 0;
const freshDir = (): string => {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  return dir;
};

async function startedSource(path: string, store: ConfigStore, name?: string) {
  const source = createFileSource({ path, logger: quiet, ...(name ? { name } : {}) });
  cleanups.push(() => source.stop());
  await source.start(store);
  return source;
}

/** Writes `id` through `write` and measures how long until the store has it. */
async function appliedWithin(store: ConfigStore, id: string, write: () => void): Promise<number> {
  const t0 = performance.now();
  write();
  await waitFor(() => ruleOf(store) === id, FLT_11_MS * 3, `${id} applied`);
  return performance.now() - t0;
}

interface Layout {
  /** The path the source is given. */
  readonly path: string;
  /** Replaces what the path shows with a document whose rule id is `id`. */
  swap(id: string): void;
  /** A plain edit after the swap (the re-armed watch must hear it). */
  edit(id: string): void;
}

/**
 * A plain `conf/rules.json` whose directory `replace` swaps for a new one; `fill(at)` writes the
 * new document into a directory, at the moment the row chooses.
 */
function plainDir(replace: (dir: string, conf: string, fill: (at: string) => void) => void) {
  return (dir: string): Layout => {
    const conf = join(dir, 'conf');
    const write = (at: string, id: string) => writeFileSync(join(at, 'rules.json'), doc(id));
    mkdirSync(conf);
    write(conf, 'v1');
    return {
      path: join(conf, 'rules.json'),
      swap: (id) => replace(dir, conf, (at) => write(at, id)),
      edit: (id) => write(conf, id),
    };
  };
}

/** SRC-02 rows: ways the directory holding the file is replaced under a running source. */
const SWAPS: readonly [string, (dir: string) => Layout][] = [
  [
    'directory removed (rm -rf) and recreated',
    plainDir((_dir, conf, fill) => {
      rmSync(conf, { recursive: true });
      mkdirSync(conf);
      fill(conf);
    }),
  ],
  [
    'directory renamed away and a new one created in its place',
    plainDir((dir, conf, fill) => {
      renameSync(conf, join(dir, 'conf.old'));
      mkdirSync(conf);
      fill(conf);
    }),
  ],
  [
    'directory recreated by a tool that writes the new tree first and renames it over (mv -T)',
    plainDir((dir, conf, fill) => {
      const next = join(dir, 'conf.next');
      mkdirSync(next);
      fill(next);
      rmSync(conf, { recursive: true });
      execFileSync('mv', ['-T', next, conf]);
    }),
  ],
  [
    'symlinked directory swapped with ln -sfn',
    (dir) => {
      for (const r of ['r1', 'r2']) mkdirSync(join(dir, r));
      writeFileSync(join(dir, 'r1', 'rules.json'), doc('v1'));
      symlinkSync('r1', join(dir, 'current'));
      return {
        path: join(dir, 'current', 'rules.json'),
        swap(id) {
          writeFileSync(join(dir, 'r2', 'rules.json'), doc(id));
          execFileSync('ln', ['-sfn', 'r2', join(dir, 'current')]);
        },
        edit: (id) => writeFileSync(join(dir, 'r2', 'rules.json'), doc(id)),
      };
    },
  ],
  [
    'symlinked directory swapped atomically (new link renamed over the old, as kubelet does)',
    (dir) => {
      for (const r of ['r1', 'r2']) mkdirSync(join(dir, r));
      writeFileSync(join(dir, 'r1', 'rules.json'), doc('v1'));
      symlinkSync('r1', join(dir, 'current'));
      return {
        path: join(dir, 'current', 'rules.json'),
        swap(id) {
          writeFileSync(join(dir, 'r2', 'rules.json'), doc(id));
          symlinkSync('r2', join(dir, 'current.tmp'));
          renameSync(join(dir, 'current.tmp'), join(dir, 'current'));
        },
        edit: (id) => writeFileSync(join(dir, 'r2', 'rules.json'), doc(id)),
      };
    },
  ],
  [
    'a symlinked ancestor two levels up swapped (releases/N/etc/graylane)',
    (dir) => {
      for (const r of ['1', '2']) mkdirSync(join(dir, 'releases', r, 'etc'), { recursive: true });
      writeFileSync(join(dir, 'releases', '1', 'etc', 'rules.json'), doc('v1'));
      symlinkSync(join(dir, 'releases', '1'), join(dir, 'app'));
      return {
        path: join(dir, 'app', 'etc', 'rules.json'),
        swap(id) {
          writeFileSync(join(dir, 'releases', '2', 'etc', 'rules.json'), doc(id));
          execFileSync('ln', ['-sfn', join(dir, 'releases', '2'), join(dir, 'app')]);
        },
        edit: (id) => writeFileSync(join(dir, 'releases', '2', 'etc', 'rules.json'), doc(id)),
      };
    },
  ],
  [
    'the file is a symlink into another directory whose target is edited in place (no event where the source watches)',
    (dir) => {
      mkdirSync(join(dir, 'elsewhere'));
      mkdirSync(join(dir, 'conf'));
      writeFileSync(join(dir, 'elsewhere', 'real.json'), doc('v1'));
      symlinkSync(join(dir, 'elsewhere', 'real.json'), join(dir, 'conf', 'rules.json'));
      return {
        path: join(dir, 'conf', 'rules.json'),
        swap: (id) => writeFileSync(join(dir, 'elsewhere', 'real.json'), doc(id)),
        edit: (id) => writeFileSync(join(dir, 'elsewhere', 'real.json'), doc(id)),
      };
    },
  ],
];

describe('SRC-02 the watched directory is recreated or swapped behind a symlink', () => {
  it.each(SWAPS)(
    'SRC-02 %s: the watch re-arms; the swap and a later edit each apply within the FLT-11 bound',
    async (_name, layout) => {
      const l = layout(freshDir());
      const store = newStore();
      const source = await startedSource(l.path, store);
      expect(ruleOf(store)).toBe('v1');
      const swapMs = await appliedWithin(store, 'swapped', () => l.swap('swapped'));
      await sleep(150); // FLT-15 keeps applies ≥ 100 ms apart
      const editMs = await appliedWithin(store, 'edited', () => l.edit('edited'));
      expect(swapMs).toBeLessThanOrEqual(FLT_11_MS);
      expect(editMs).toBeLessThanOrEqual(FLT_11_MS);
      expect(source.status().state).toBe('ready');
    },
    30_000,
  );

  it('SRC-02 directory gone for a while: LKG and a stale status during the gap, reload when it is back, watch re-armed', async () => {
    const dir = freshDir();
    const conf = join(dir, 'conf');
    mkdirSync(conf);
    writeFileSync(join(conf, 'rules.json'), doc('v1'));
    const store = newStore();
    const source = await startedSource(join(conf, 'rules.json'), store);
    rmSync(conf, { recursive: true });
    await waitFor(() => source.status().state === 'stale', FLT_11_MS * 3, 'gap noticed');
    await sleep(1_500);
    expect(ruleOf(store)).toBe('v1');
    const back = await appliedWithin(store, 'back', () => {
      mkdirSync(conf);
      writeFileSync(join(conf, 'rules.json'), doc('back'));
    });
    await sleep(150);
    const later = await appliedWithin(store, 'later', () =>
      writeFileSync(join(conf, 'rules.json'), doc('later')),
    );
    expect(back).toBeLessThanOrEqual(FLT_11_MS);
    expect(later).toBeLessThanOrEqual(FLT_11_MS);
    expect(source.status().state).toBe('ready');
  }, 30_000);

  it('SRC-02 five swaps in a row (ln -sfn between two releases): every one applies', async () => {
    const l = SWAPS.find(([name]) => name.includes('ln -sfn'))?.[1](freshDir()) as Layout;
    const store = newStore();
    await startedSource(l.path, store);
    const dir = join(l.path, '..', '..');
    for (let i = 0; i < 5; i++) {
      const target = i % 2 ? 'r1' : 'r2';
      const ms = await appliedWithin(store, `swap-${i}`, () => {
        writeFileSync(join(dir, target, 'rules.json'), doc(`swap-${i}`));
        execFileSync('ln', ['-sfn', target, join(dir, 'current')]);
      });
      expect(ms).toBeLessThanOrEqual(FLT_11_MS);
      await sleep(150);
    }
  }, 30_000);
});

/** SRC-05 rows: what may sit at the path instead of a small regular file. */
const HOSTILE: readonly [string, (path: string) => Promise<() => void> | (() => void), RegExp][] = [
  [
    'a FIFO (no writer: a blocking open would hang start/stop)',
    (p) => (execFileSync('mkfifo', [p]), () => undefined),
    /FIFO/,
  ],
  [
    'a symlink to /dev/zero (endless)',
    (p) => (symlinkSync('/dev/zero', p), () => undefined),
    /character device/,
  ],
  [
    'a symlink to /dev/null',
    (p) => (symlinkSync('/dev/null', p), () => undefined),
    /character device/,
  ],
  ['a directory', (p) => (mkdirSync(p), () => undefined), /directory/],
  [
    'a unix socket',
    async (p) => {
      const server = createServer();
      await new Promise<void>((r) => server.listen(p, r));
      return () => server.close();
    },
    /socket/,
  ],
  [
    'a 10 GiB sparse file (reading it whole would take seconds and gigabytes)',
    (p) => (writeFileSync(p, ''), truncateSync(p, 10 * 1024 ** 3), () => undefined),
    /over the 1048576-byte limit/,
  ],
  [
    'a valid document one byte over the 1 MiB cap',
    (p) => (writeFileSync(p, padded(doc('big'), MAX_CONFIG_BYTES + 1)), () => undefined),
    /over the 1048576-byte limit/,
  ],
];

/** `text` padded with trailing spaces to exactly `bytes` bytes (still valid JSON). */
function padded(text: string, bytes: number): string {
  return text + ' '.repeat(bytes - Buffer.byteLength(text));
}

describe('SRC-05 size, type and encoding of the file', () => {
  it.each(HOSTILE)(
    'SRC-05 %s at the path: start() and stop() return promptly, nothing is read, the status says why',
    async (_name, make, why) => {
      const path = join(freshDir(), 'rules.json');
      const undo = await make(path);
      cleanups.push(undo);
      const store = newStore();
      const heap = process.memoryUsage().rss;
      const source = createFileSource({ path, logger: quiet });
      const t0 = performance.now();
      await source.start(store);
      const startMs = performance.now() - t0;
      expect(source.status()).toMatchObject({ state: 'error' });
      expect(source.status().lastError).toMatch(why);
      expect(ruleOf(store)).toBe('embedded');
      // The libuv pool is not held by a blocked open: other file I/O still completes at once.
      const io0 = performance.now();
      await readFile(__filename);
      const ioMs = performance.now() - io0;
      const t1 = performance.now();
      await source.stop();
      const stopMs = performance.now() - t1;
      expect(startMs).toBeLessThan(2_000);
      expect(stopMs).toBeLessThan(2_000);
      expect(ioMs).toBeLessThan(2_000);
      expect(process.memoryUsage().rss - heap).toBeLessThan(64 * 1024 * 1024);
    },
    30_000,
  );

  it.each(HOSTILE)(
    'SRC-05 %s replacing a good file while running: LKG kept, stale with the reason; a regular file again applies',
    async (_name, make, why) => {
      const dir = freshDir();
      const path = join(dir, 'rules.json');
      writeFileSync(path, doc('good'));
      const store = newStore();
      const source = await startedSource(path, store);
      rmSync(path);
      const undo = await make(path);
      cleanups.push(undo);
      await waitFor(() => why.test(source.status().lastError ?? ''), FLT_11_MS * 3, 'refusal');
      expect(source.status().state).toBe('stale');
      expect(ruleOf(store)).toBe('good');
      undo();
      rmSync(path, { recursive: true, force: true });
      const ms = await appliedWithin(store, 'regular-again', () =>
        writeFileSync(path, doc('regular-again')),
      );
      expect(ms).toBeLessThanOrEqual(FLT_11_MS);
      expect(source.status().state).toBe('ready');
    },
    30_000,
  );

  const ENCODINGS: readonly [string, () => Buffer, string | undefined][] = [
    ['UTF-8 BOM', () => Buffer.concat([bom(), Buffer.from(doc('bom'))]), 'bom'],
    [
      'UTF-8 BOM with CRLF line ends and indentation',
      () =>
        Buffer.concat([
          bom(),
          Buffer.from(JSON.stringify(JSON.parse(doc('crlf')), null, 2).replace(/\n/g, '\r\n')),
        ]),
      'crlf',
    ],
    [
      'exactly 1 MiB (the cap itself)',
      () => Buffer.from(padded(doc('at-cap'), MAX_CONFIG_BYTES)),
      'at-cap',
    ],
    ['a BOM and nothing else', () => bom(), undefined],
    ['two BOMs', () => Buffer.concat([bom(), bom(), Buffer.from(doc('two'))]), undefined],
    [
      'UTF-16LE with its BOM',
      () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc('u16'), 'utf16le')]),
      undefined,
    ],
  ];
  it.each(ENCODINGS)('SRC-05 %s', async (_name, bytes, applied) => {
    const path = join(freshDir(), 'rules.json');
    writeFileSync(path, bytes());
    const store = newStore();
    const source = await startedSource(path, store);
    if (applied) {
      expect(ruleOf(store)).toBe(applied);
      expect(source.status().state).toBe('ready');
    } else {
      expect(ruleOf(store)).toBe('embedded'); // rejected by the parser, never a crash
      expect(source.status().state).toBe('error');
    }
  });

  it('SRC-05 a FIFO at the backup path never blocks startSources; the backup is ignored with a warning', async () => {
    const dir = freshDir();
    const backupPath = join(dir, 'backup.json');
    execFileSync('mkfifo', [backupPath]);
    const lines: string[] = [];
    const logger = { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const store = newStore();
    const handle = startSources(
      store,
      [createFileSource({ path: join(dir, 'missing.json'), logger })],
      { backup: { path: backupPath }, meter: false, logger },
    );
    const t0 = performance.now();
    const status = await handle.ready;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(status.state).toBe('degraded');
    expect(lines.some((l) => /backup/.test(l) && /FIFO/.test(l))).toBe(true);
    const t1 = performance.now();
    await handle.stop();
    expect(performance.now() - t1).toBeLessThan(2_000);
  });
});

describe('SRC-03 file sources are guarded per instance, never by a shared name', () => {
  it.each([
    ['two default-named file sources', undefined, undefined],
    ['two file sources both named "rules"', 'rules', 'rules'],
  ] as const)(
    'SRC-03 %s feeding one store: every edit of either file applies',
    async (_n, a, b) => {
      const dir = freshDir();
      const [pa, pb] = [join(dir, 'a.json'), join(dir, 'b.json')];
      writeFileSync(pa, doc('a-0'));
      writeFileSync(pb, doc('b-0'));
      const store = newStore();
      await startedSource(pa, store, a);
      await sleep(50);
      for (let i = 1; i <= 6; i++) {
        // Source a has read more often than b: a name-keyed sequence guard would drop b.
        writeFileSync(pa, doc(`a-${i}`));
        await waitFor(() => ruleOf(store) === `a-${i}`, FLT_11_MS * 3, `a-${i}`);
        await sleep(120);
      }
      await startedSource(pb, store, b);
      expect(ruleOf(store)).toBe('b-0');
      for (const [path, id] of [
        [pa, 'a-7'],
        [pb, 'b-1'],
        [pb, 'b-2'],
        [pa, 'a-8'],
      ] as const) {
        await sleep(120);
        await appliedWithin(store, id, () => writeFileSync(path, doc(id)));
      }
    },
    30_000,
  );

  it('SRC-03 a stopped and re-created file source (same name, same store) applies its first read', async () => {
    const dir = freshDir();
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('first-0'));
    const store = newStore();
    const first = await startedSource(path, store);
    for (let i = 1; i <= 5; i++) {
      await sleep(120);
      await appliedWithin(store, `first-${i}`, () => writeFileSync(path, doc(`first-${i}`)));
    }
    await first.stop();
    writeFileSync(path, doc('second-0'));
    const second = await startedSource(path, store);
    expect(ruleOf(store)).toBe('second-0');
    expect(second.status().state).toBe('ready');
    expect(JSON.parse(readFileSync(path, 'utf8')).rules[0].id).toBe('second-0');
  }, 30_000);
});

function bom(): Buffer {
  return Buffer.from([0xef, 0xbb, 0xbf]);
}
