import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, createHttpSource, startSources } from '../../src/sources/index.js';
import { doc, quietLogger, recordingStore, tempDir } from './helpers.js';

const here = new URL('.', import.meta.url).pathname;
const work = tempDir();
afterAll(() => work.cleanup());

describe('backup file', () => {
  it('FLT-01 cold start, source unreachable: nothing blocks, the backup serves, state degraded', async () => {
    const path = join(work.dir, 'cold.json');
    writeFileSync(path, doc('beta'));
    const { store } = recordingStore();
    const logger = quietLogger();
    const source = createHttpSource({
      url: 'http://127.0.0.1:9/unreachable',
      backoff: { initialMs: 60_000 },
      logger,
    });
    const t0 = performance.now();
    const handle = startSources(store, [source], { backup: { path }, meter: false, logger });
    // FLT-01 target: served < 100 ms after listen. startSources returns before the source's first
    // attempt settled (state `starting`), serving the embedded default. The time bound is loose
    // (first-fetch module loading on a loaded 2-core worker has taken 0.5 s); the state is the proof.
    const returnedMs = performance.now() - t0;
    expect(handle.status().state).toBe('starting');
    expect(returnedMs).toBeLessThan(2_000);
    expect(store.get().config.default).toBe('stable'); // the embedded default, not a wait
    const status = await handle.ready;
    expect(performance.now() - t0).toBeLessThan(10_000); // error event ≤ 10 s
    expect(status.state).toBe('degraded');
    expect(store.get()).toMatchObject({ source: 'backup' });
    expect(store.get().config.default).toBe('beta');
    expect(
      logger.lines.some((l) => l.startsWith('error') && l.includes('no rule source is ready')),
    ).toBe(true);
    await handle.stop();
  });

  it('writes after each swap from a source, never for the backup itself', async () => {
    const path = join(work.dir, 'written.json');
    let body = doc('beta');
    const source = createHttpSource({
      url: 'http://x/',
      intervalMs: 10,
      fetch: () => Promise.resolve(new Response(body)),
      logger: quietLogger(),
    });
    const { store } = recordingStore();
    const handle = startSources(store, [source], { backup: { path }, meter: false });
    await handle.ready;
    expect(handle.status().state).toBe('ready');
    body = doc('stable', { rules: [{ id: 'a', version: 'beta' }] });
    await new Promise((r) => setTimeout(r, 100));
    await handle.stop();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({
      default: 'stable',
      rules: [{ id: 'a' }],
    });
  });

  const corrupt: [string, (p: string) => void][] = [
    ['truncated', (p) => writeFileSync(p, doc('beta').slice(0, 30))],
    ['0 bytes', (p) => writeFileSync(p, '')],
    ['not JSON', (p) => writeFileSync(p, 'hello, world')],
    ['a directory (unreadable)', (p) => mkdirSync(p)],
    ['permissions 000', (p) => (writeFileSync(p, 'garbage{'), chmodSync(p, 0o000))],
  ];
  it.each(corrupt)(
    'FLT-13 backup %s: ignored with a warning, startup continues',
    async (_name, make) => {
      const path = join(work.dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      make(path);
      const logger = quietLogger();
      const backup = createBackup({ path, logger });
      const { store } = recordingStore();
      const handle = startSources(
        store,
        [createHttpSource({ url: 'http://127.0.0.1:9/', backoff: { initialMs: 60_000 }, logger })],
        { backup, meter: false, logger },
      );
      const status = await handle.ready;
      expect(status.state).toBe('degraded');
      expect(store.get().source).toBe('embedded');
      expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('backup'))).toBe(true);
      await handle.stop();
    },
  );
});

describe('FLT-13 a backup whose directory does not exist (review 73 N4)', () => {
  // A fresh host has no `/var/lib/graylane`, and a cleanup may remove the directory later: every
  // write failed with ENOENT, so there was never a backup. The directory is made as the file is.
  const layouts: [string, (root: string) => string][] = [
    ['one missing level', (root) => join(root, 'a', 'rules.backup.json')],
    ['three missing levels', (root) => join(root, 'a', 'b', 'c', 'rules.backup.json')],
    ['an existing directory', (root) => (mkdirSync(join(root, 'x')), join(root, 'x', 'r.json'))],
  ];
  it.each(layouts)(
    '%s: written after the first swap, and again after the directory went',
    async (_n, at) => {
      const root = join(work.dir, `dir-${Math.random().toString(36).slice(2)}`);
      mkdirSync(root);
      const path = at(root);
      let body = doc('beta');
      const source = createHttpSource({
        url: 'http://x/',
        intervalMs: 10,
        fetch: () => Promise.resolve(new Response(body)),
        logger: quietLogger(),
      });
      const logger = quietLogger();
      const { store } = recordingStore();
      const handle = startSources(store, [source], {
        backup: createBackup({ path, logger }),
        meter: false,
        logger,
      });
      await handle.ready;
      await expect.poll(() => existsSync(path), { timeout: 5_000 }).toBe(true);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ default: 'beta' });
      rmSync(join(root, relative(root, path).split(sep)[0] as string), { recursive: true });
      body = doc('stable', { rules: [{ id: 'again', version: 'beta' }] });
      await expect
        .poll(() => existsSync(path) && readFileSync(path, 'utf8').includes('"again"'), {
          timeout: 5_000,
        })
        .toBe(true);
      await handle.stop();
      expect(logger.lines.filter((l) => l.includes('could not write the config backup'))).toEqual(
        [],
      );
    },
  );
});

describe('FLT-14 SIGKILL during backup writes', () => {
  let script: string;
  beforeAll(async () => {
    script = join(work.dir, 'writer.mjs');
    const entry = join(here, '../../src/sources/atomic-write.ts');
    const bundle = join(work.dir, 'atomic-write.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(bundle)};
const [path, a, b] = process.argv.slice(2);
const A = 'A'.repeat(Number(a)); const B = 'B'.repeat(Number(b));
process.stdout.write('go\\n');
for (let i = 0; ; i++) await writeFileAtomic(path, i % 2 ? B : A);
`,
    );
  });

  /** 100 kills, bounded in time: node start-up dominates and the 2-core CI box is shared. */
  const KILLS = 100;
  const BUDGET_MS = 12_000;
  /** At least this many kills whatever the budget: a loaded machine takes longer, never fewer. */
  const MIN_KILLS = 10;
  it('FLT-14 up to 100 kills mid-write: the file is always old-complete or new-complete, never torn', async () => {
    const path = join(work.dir, 'backup.json');
    const sizes = { A: 200_000, B: 300_000 };
    writeFileSync(path, 'A'.repeat(sizes.A));
    let torn = 0;
    const t0 = performance.now();
    let kills = 0;
    for (; kills < KILLS && (kills < MIN_KILLS || performance.now() - t0 < BUDGET_MS); kills++) {
      const child = spawn(process.execPath, [script, path, String(sizes.A), String(sizes.B)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const text = readFileSync(path, 'utf8');
      const whole =
        (text.length === sizes.A && /^A+$/.test(text)) ||
        (text.length === sizes.B && /^B+$/.test(text));
      if (!whole) torn++;
    }
    console.info(
      `FLT-14: ${kills} SIGKILLs in ${Math.round(performance.now() - t0)} ms, ${torn} torn`,
    );
    expect(torn).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(existsSync(path)).toBe(true);
  }, 120_000);
});
