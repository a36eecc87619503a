import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CONFIG_BYTES } from '@graylane/core';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  type EtcdProcess,
} from '../../etcd/test/harness.js';
import { runGraylane, runInProcess } from './helpers.js';

/**
 * SRC-05 for the CLI (review 75 N4): a path that is not a regular file — a FIFO nobody writes to,
 * a device that never ends (`/dev/zero`), a directory, a socket — is refused at once by every
 * command that reads one (exit 2, `io`, "not a regular file"), as `push` refused such a target;
 * `graylane validate fifo.json` used to wait for a writer until killed. Standard input, `-`, is
 * still how a pipe is read.
 *
 * CFG-07: a config over the 1 MiB cap is an invalid config — exit 1, `invalid_config`, `$:
 * document larger than 1048576 bytes` — from a file, stdin or etcd, in `validate`, `diff`,
 * `explain` and `push` alike (docs/cli.md: "1 a negative answer (invalid config …)"; core and the
 * etcd source say the same). A file and stdin were an I/O error (exit 2), etcd exit 1.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const GOOD = join(EXAMPLES, 'rules.json');
const RAMP = join(EXAMPLES, 'ramp-20.json');
const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-nonregular-'));
const FIFO = join(dir, 'fifo.json');
const SOCKET = join(dir, 'socket.json');
const DIRECTORY = join(dir, 'dir.json');
const LINK = join(dir, 'link-to-fifo.json');
const TARGET = join(dir, 'target.json');
let server: Server;
beforeAll(async () => {
  execFileSync('mkfifo', [FIFO]);
  symlinkSync(FIFO, LINK);
  mkdirSync(DIRECTORY);
  writeFileSync(TARGET, readFileSync(GOOD));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(SOCKET, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Every way a command reads a file: a config, a sample, a key, a key ring, a push source. */
const READERS: readonly [string, (x: string) => string[]][] = [
  ['validate X', (x) => ['validate', x]],
  ['validate X --json', (x) => ['validate', x, '--json']],
  ['diff GOOD X', (x) => ['diff', GOOD, x]],
  ['diff X GOOD --json', (x) => ['diff', x, GOOD, '--json']],
  ['explain X', (x) => ['explain', x]],
  ['explain X --json', (x) => ['explain', x, '--json']],
  ['diff GOOD RAMP --sample X', (x) => ['diff', GOOD, RAMP, '--sample', x]],
  ['push X TARGET --dry-run', (x) => ['push', x, TARGET, '--dry-run']],
  ['push RAMP X --yes (X the target)', (x) => ['push', RAMP, x, '--yes']],
  ['bucket s u --config X', (x) => ['bucket', 's', 'u', '--config', x]],
  ['render nginx X', (x) => ['render', 'nginx', x]],
  ['pause X --rule ramp', (x) => ['pause', x, '--rule', 'ramp']],
  ['sign beta --key-file X', (x) => ['sign', 'beta', '--key-file', x]],
  ['verify T --keys-file X', (x) => ['verify', 'beta.1.k1.x', '--keys-file', x]],
];

/** What the refusal says, and its `--json` document. */
function expectRefused(
  r: { code: number; out: string; err: string },
  args: readonly string[],
  kind: RegExp,
): void {
  expect(r.code, `${r.out}\n${r.err}`).toBe(2);
  expect(r.err).toMatch(/is not a regular file \(it is /);
  expect(r.err).toMatch(kind);
  if (args.includes('--json'))
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'io' }, exitCode: 2 });
}

describe.concurrent('SRC-05 a FIFO nobody writes to is refused at once, never waited on', () => {
  // The built CLI in a child process, killed after 15 s (exit 99): the old source waited forever.
  const rows = [
    ['a FIFO', FIFO],
    ['a symlink to a FIFO', LINK],
  ].flatMap(([what, path]) =>
    READERS.map(([name, args]) => [name, what, args(path as string)] as const),
  );
  it.each(rows)('SRC-05 %s, X %s: exit 2, not a regular file', async (_n, _w, args) => {
    const r = await runGraylane(args, { timeoutMs: 15_000 });
    expectRefused({ code: r.code, out: r.stdout, err: r.stderr }, args, /a FIFO/);
  });
});

describe('SRC-05 a device, a directory or a socket is refused the same way', () => {
  const KINDS: readonly [string, string, RegExp][] = [
    ['/dev/zero (a device that never ends)', '/dev/zero', /a character device/],
    ['/dev/null (a device that is empty)', '/dev/null', /a character device/],
    ['a directory', DIRECTORY, /a directory/],
    ['a Unix socket', SOCKET, /a socket/],
  ];
  const rows = KINDS.flatMap(([what, path, kind]) =>
    READERS.map(([name, args]) => [name, what, args(path), kind] as const),
  );
  it.each(rows)('SRC-05 %s, X %s: exit 2, not a regular file', async (_n, _w, args, kind) => {
    // A target that is not a regular file was refused before (its own message); the rest new.
    const r = await runInProcess(args);
    expectRefused(r, args, kind);
  });

  it.each([
    ['validate -', ['validate', '-'], 0, /^ok -: versions stable, beta/m],
    ['diff GOOD -', ['diff', GOOD, '-'], 0, /^no change/m],
    ['explain - --json', ['explain', '-', '--json'], 0, /"ok": true/],
  ] as const)('(control) %s: a pipe on stdin is read as before', async (_n, args, code, says) => {
    const r = await runGraylane(args, { stdin: readFileSync(GOOD), timeoutMs: 15_000 });
    expect(r.code).toBe(code);
    expect(r.stdout).toMatch(says);
  });
});

/** A valid config padded with trailing spaces to `bytes` bytes. */
const padded = (bytes: number): string => {
  const text = readFileSync(GOOD, 'utf8').trimEnd();
  return text + ' '.repeat(bytes - Buffer.byteLength(text));
};
const OVER = padded(MAX_CONFIG_BYTES + 1);
const AT_CAP = padded(MAX_CONFIG_BYTES);
const TOO_LARGE = /document larger than 1048576 bytes/;

/** The commands that read a config, and what each prints the problem on. */
const CONFIG_READERS: readonly [string, (x: string, t: string) => string[], 'out' | 'err'][] = [
  ['validate X', (x) => ['validate', x], 'out'],
  ['validate X --json', (x) => ['validate', x, '--json'], 'out'],
  ['diff GOOD X', (x) => ['diff', GOOD, x], 'err'],
  ['diff X GOOD --json', (x) => ['diff', x, GOOD, '--json'], 'out'],
  ['explain X', (x) => ['explain', x], 'err'],
  ['push X TARGET --yes', (x, t) => ['push', x, t, '--yes'], 'err'],
  ['push X TARGET --yes --json', (x, t) => ['push', x, t, '--yes', '--json'], 'out'],
  ['pause X --rule ramp', (x) => ['pause', x, '--rule', 'ramp'], 'err'],
];

/** A fresh push target holding rules.json; the row checks it was not written. */
let t = 0;
const target = (): string => {
  const path = join(dir, `t${++t}.json`);
  writeFileSync(path, readFileSync(GOOD));
  return path;
};

function expectInvalid(
  r: { code: number; out: string; err: string },
  args: readonly string[],
  on: 'out' | 'err',
): void {
  expect(r.code, `${r.out}\n${r.err}`).toBe(1);
  expect(r[on]).toMatch(TOO_LARGE);
  if (args.includes('--json'))
    expect(JSON.parse(r.out)).toMatchObject({
      ok: false,
      error: {
        code: 'invalid_config',
        problems: [{ path: '$', message: expect.stringMatching(TOO_LARGE) }],
      },
      exitCode: 1,
    });
}

describe('CFG-07 a config over 1 MiB is an invalid config (exit 1) wherever it is read from', () => {
  const big = join(dir, 'big.json');
  writeFileSync(big, OVER);
  it.each(CONFIG_READERS)('CFG-07 a file of 1 MiB + 1 byte, %s', async (_n, args, on) => {
    const to = target();
    const r = await runInProcess(args(big, to));
    expectInvalid(r, args(big, to), on);
    expect(readFileSync(to, 'utf8')).toBe(readFileSync(GOOD, 'utf8'));
  });

  it.each(CONFIG_READERS)('CFG-07 1 MiB + 1 byte on stdin, %s', async (_n, args, on) => {
    const to = target();
    const r = await runInProcess(args('-', to), { stdin: OVER });
    expectInvalid(r, args('-', to), on);
    expect(readFileSync(to, 'utf8')).toBe(readFileSync(GOOD, 'utf8'));
  });

  it('(control) a file of exactly 1 MiB is a valid config', async () => {
    const path = join(dir, 'at-cap.json');
    writeFileSync(path, AT_CAP);
    const r = await runInProcess(['validate', path]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok .*at-cap\.json: versions stable, beta/);
  });

  it('(control) a key file over its cap stays an I/O error (exit 2): it is no config', async () => {
    const r = await runGraylane(['sign', 'beta', '--key-file', '-'], {
      stdin: 'k'.repeat(64 * 1024 + 1),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the key file on stdin is larger than 65536 bytes/);
  });

  it('CFG-07 the built binary: validate and push of the same document agree (exit 1)', async () => {
    const to = target();
    const v = await runGraylane(['validate', big]);
    const p = await runGraylane(['push', big, to, '--yes']);
    expect([v.code, p.code]).toEqual([1, 1]);
    expect(v.stdout).toMatch(TOO_LARGE);
    expect(p.stderr).toMatch(TOO_LARGE);
  });
});

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

describe.skipIf(!binary)('CFG-07 a config over 1 MiB in etcd: the same answer', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
    await admin.put('big').value(OVER);
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });
  it.each(CONFIG_READERS)('CFG-07 etcd://…/big, %s', async (_n, args, on) => {
    const to = target();
    const url = `etcd://127.0.0.1:${etcd.port}/big`;
    const r = await runInProcess(args(url, to));
    expectInvalid(r, args(url, to), on);
  });
});
