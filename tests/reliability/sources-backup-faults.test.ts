import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConfigStore } from '@graylane/core';
import { createHttpSource, startSources, type SourcesHandle } from '@graylane/node/sources';
import { closeAll, listen, sleep, waitFor } from './helpers.js';

/**
 * FLT-14's other half: the backup write fails and keeps failing — the disk is full, the backup
 * directory was removed or replaced, the path became a directory. The previous backup must stay
 * whole, no temp file may be left behind, the app keeps serving, and the failure is reported
 * once per streak — not once per confirmation, which with an HTTP source is every poll (a full
 * disk otherwise gets one warning and a rewrite attempt of up to 1 MiB per poll, forever). Once
 * the cause is gone the backup catches up with what is in force (SRC-04). Real files on a real
 * filesystem; the full disk is a real `EFBIG` from a file-size limit (`ulimit -f`) on a child
 * process, which fails `write(2)` the way `ENOSPC` does.
 */
const doc = (id: string, rules = 1): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: Array.from({ length: rules }, (_v, i) => ({
      id: i ? `${id}-${i}` : id,
      version: 'beta',
    })),
  });
const root = mkdtempSync(join(tmpdir(), 'graylane-backup-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const handles: SourcesHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.stop();
  await closeAll();
});
let n = 0;
/** Polls at this pace: a full second of failure is ~50 confirmations of the same config. */
const POLL_MS = 20;
const backupWarnings = (lines: string[]): string[] => lines.filter((l) => /backup/.test(l));

interface Breakage {
  readonly name: string;
  /** Makes every backup write fail; returns the undo. */
  break(dir: string, path: string): () => void;
}
// A removed backup directory is no longer a failure: the backup makes it again (review 73 N4;
// packages/node/test/sources/backup.test.ts, "a backup whose directory does not exist").
const BREAKAGES: readonly Breakage[] = [
  {
    name: 'the backup directory was replaced by a file',
    break: (dir) => {
      rmSync(dir, { recursive: true, force: true });
      writeFileSync(dir, 'not a directory');
      return () => {
        rmSync(dir);
        mkdirSync(dir);
      };
    },
  },
  {
    name: 'the backup path became a non-empty directory',
    break: (_dir, path) => {
      rmSync(path);
      mkdirSync(path);
      writeFileSync(join(path, 'keep'), '');
      return () => rmSync(path, { recursive: true });
    },
  },
];

describe('FLT-14 backup writes that keep failing: reported once per streak, old backup whole, caught up after', () => {
  it.each(BREAKAGES.map((b) => [b.name, b] as const))(
    'FLT-14 %s',
    async (_name, breakage) => {
      const dir = join(root, `d${++n}`);
      mkdirSync(dir);
      const path = join(dir, 'backup.json');
      let body = doc('first');
      const { url } = await listen(http.createServer((_q, r) => r.end(body)));
      const lines: string[] = [];
      const logger = { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
      const store = createConfigStore({ initial: doc('embedded') });
      const handle = startSources(
        store,
        [
          createHttpSource({
            url,
            intervalMs: POLL_MS,
            logger: { warn: () => undefined, error: () => undefined },
          }),
        ],
        { backup: { path }, meter: false, logger },
      );
      handles.push(handle);
      await handle.ready;
      await waitFor(
        () => existsSync(path) && readFileSync(path, 'utf8').includes('"first"'),
        5_000,
        'first backup',
      );

      const undo = breakage.break(dir, path);
      body = doc('second');
      await waitFor(() => store.get().config.rules[0]?.id === 'second', 5_000, 'second in force');
      await sleep(1_000); // ~50 confirmations of `second`, every backup write failing
      expect(handle.status().state).toBe('ready'); // serving goes on
      expect(backupWarnings(lines).length).toBeGreaterThanOrEqual(1);
      expect(backupWarnings(lines).length).toBeLessThanOrEqual(2);
      if (existsSync(dir) && statSync(dir).isDirectory())
        expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      undo();
      await waitFor(
        () => existsSync(path) && readFileSync(path, 'utf8').includes('"second"'),
        15_000,
        'the backup catching up after the cause is gone',
      );
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    },
    30_000,
  );

  it('FLT-14 the disk is full (EFBIG from a file-size limit): the previous backup stays whole, one warning, a later config that fits is written', async () => {
    const dir = join(root, `efbig-${++n}`);
    mkdirSync(dir);
    const script = join(dir, 'child.mjs');
    const sources = pathToFileURL(join(__dirname, '../../packages/node/dist/sources.js')).href;
    const core = pathToFileURL(join(__dirname, '../../packages/core/dist/index.js')).href;
    writeFileSync(
      script,
      `
import { createServer } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { createConfigStore } from ${JSON.stringify(core)};
import { createHttpSource, startSources } from ${JSON.stringify(sources)};
const doc = ${doc.toString()};
const path = ${JSON.stringify(join(dir, 'backup.json'))};
let body = doc('small');
const server = createServer((_q, r) => r.end(body));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const lines = [];
const store = createConfigStore({ initial: doc('embedded') });
const quiet = { warn: () => {}, error: () => {} };
const handle = startSources(store, [createHttpSource({ url: 'http://127.0.0.1:' + server.address().port, intervalMs: ${POLL_MS}, logger: quiet })], {
  backup: { path }, meter: false, logger: { warn: (m) => lines.push(m), error: (m) => lines.push(m) },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (f) => { for (let i = 0; i < 500 && !f(); i++) await sleep(10); };
const held = () => { try { return JSON.parse(readFileSync(path, 'utf8')).rules[0].id; } catch { return undefined; } };
await handle.ready;
await until(() => held() === 'small');
body = doc('large', 60); // > 1 KiB: over the file-size limit
await until(() => store.get().config.rules[0].id === 'large');
await sleep(1000);
const during = { held: held(), warnings: lines.filter((l) => /backup/.test(l)).length, files: readdirSync(${JSON.stringify(dir)}) };
body = doc('fits');
await until(() => held() === 'fits');
console.log(JSON.stringify({ during, after: held(), inForce: store.get().config.rules[0].id, files: readdirSync(${JSON.stringify(dir)}) }));
await handle.stop();
server.close();
`,
    );
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'bash',
        ['-c', `trap '' XFSZ; ulimit -f 1; exec "${process.execPath}" "${script}"`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`child exited ${code}: ${err}`));
      });
    });
    const result = JSON.parse(out) as {
      during: { held: string; warnings: number; files: string[] };
      after: string;
      inForce: string;
      files: string[];
    };
    expect(result.during.held).toBe('small'); // the previous backup, whole
    expect(result.during.warnings).toBeGreaterThanOrEqual(1);
    expect(result.during.warnings).toBeLessThanOrEqual(2);
    expect(result.during.files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(result.after).toBe('fits');
    expect(result.inForce).toBe('fits');
  }, 60_000);
});
