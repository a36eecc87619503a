import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  type EtcdProcess,
} from '../../etcd/test/harness.js';
import { runCli } from '../src/index.js';
import { runGraylane, type CliRun } from './helpers.js';

/**
 * `graylane push`: validate, preview, then write with compare-and-swap — to files (content hash
 * under a lock, atomic rename) and to a real etcd (a transaction on the key's mod_revision).
 * Concurrency rows start several pushes at once and check the compare-and-swap property: no two
 * successful pushes started from the same revision, so no write is ever lost.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = join(EXAMPLES, 'rules.json');
const RAMP = join(EXAMPLES, 'ramp-20.json');
const SAMPLE = join(EXAMPLES, 'visitors.jsonl');
const doc = (id: string) =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [{ id, version: 'beta' }],
  });

const dir = mkdtempSync(join(tmpdir(), 'graylane-push-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text?: string, name = `t${++n}.json`) => {
  const path = join(dir, name);
  if (text !== undefined) writeFileSync(path, text);
  return path;
};
const source = (id: string) => file(doc(id), `src-${id}-${++n}.json`);

/** `target X at revision R` … `now at revision R'`: the edge a successful push made. */
function edge(r: CliRun): [string, string] | undefined {
  const from = /^target .* at revision (\S+)$/m.exec(r.stdout)?.[1];
  const to = /is now at revision (\S+)$/m.exec(r.stdout)?.[1];
  return from && to ? [from, to] : undefined;
}

/**
 * The compare-and-swap property over concurrent pushes: every push either wrote or failed with
 * a conflict (exit 3); the writes form one chain from the initial revision (no two from the same
 * revision: none overwrote another unseen); the final state is the last write of the chain.
 */
function expectChain(runs: CliRun[], initial: string): string {
  const edges = runs.map(edge).filter((e): e is [string, string] => e !== undefined);
  for (const r of runs) {
    if (edge(r)) expect(r.code).toBe(0);
    else {
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/conflict: .* (changed since it was read|another push holds)/);
    }
  }
  expect(edges.length).toBeGreaterThanOrEqual(1);
  const starts = edges.map(([from]) => from);
  expect(new Set(starts).size).toBe(starts.length);
  let at = initial;
  for (let i = 0; i < edges.length; i++) {
    const next = edges.find(([from]) => from === at);
    expect(next, `a write started from ${at}`).toBeDefined();
    at = (next as [string, string])[1];
  }
  return at;
}

describe('push to a file', () => {
  it('creates an absent file, then previews and writes a change; the same content again writes nothing', async () => {
    const target = file(undefined);
    const created = await runGraylane(['push', RULES, target, '--yes']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^target .* at revision absent$/m);
    expect(created.stdout).toMatch(/does not exist yet: it will be created/);
    expect(readFileSync(target, 'utf8')).toBe(readFileSync(RULES, 'utf8'));
    const changed = await runGraylane(['push', RAMP, target, '--yes', '--sample', SAMPLE]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/^changed rules: canary$/m);
    expect(changed.stdout).toMatch(/^sample: 1000 requests, 142 would change version \(14\.2%\)$/m);
    expect(changed.stdout).toMatch(/^written: .* is now at revision sha256:[0-9a-f]{16}$/m);
    const before = statSync(target);
    const same = await runGraylane([
      'push',
      file(` ${readFileSync(RAMP, 'utf8')}\n\n`),
      target,
      '--yes',
    ]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no change: .* already holds this config; nothing written/);
    expect(statSync(target).mtimeMs).toBe(before.mtimeMs);
  });

  const UNTOUCHED: readonly [string, number, (target: string) => string[], RegExp][] = [
    [
      'an invalid new config',
      1,
      (t) => ['push', join(EXAMPLES, 'broken.json'), t, '--yes'],
      /is not a valid config: nothing written/,
    ],
    [
      'no --yes and no terminal',
      2,
      (t) => ['push', RAMP, t],
      /no terminal to confirm on: pass --yes/,
    ],
    ['--dry-run', 0, (t) => ['push', RAMP, t, '--dry-run'], /dry run: nothing written/],
    [
      '--expect-revision that is not the current one',
      3,
      (t) => ['push', RAMP, t, '--yes', '--expect-revision', 'sha256:0000000000000000'],
      /conflict: .* is at revision sha256:[0-9a-f]{16}, not sha256:0{16}/,
    ],
    ['push to - (stdout)', 2, () => ['push', RAMP, '-', '--yes'], /not to - \(stdout\)/],
  ];
  it.each(UNTOUCHED)('%s: exit %s, the target is untouched', async (_n, code, args, message) => {
    const target = file(readFileSync(RULES, 'utf8'));
    const before = readFileSync(target, 'utf8');
    const r = await runGraylane(args(target));
    expect(r.code).toBe(code);
    expect(r.stdout + r.stderr).toMatch(message);
    expect(readFileSync(target, 'utf8')).toBe(before);
  });

  it('dry run, then the printed command writes exactly the reviewed change; an edit in between is a conflict', async () => {
    const target = file(readFileSync(RULES, 'utf8'));
    const dry = await runGraylane(['push', RAMP, target, '--dry-run']);
    const command = /To write exactly this change: graylane (push .*)$/m.exec(dry.stdout)?.[1];
    expect(command).toBeDefined();
    const args = (command as string).split(' ');
    writeFileSync(target, doc('someone-else')); // another operator, meanwhile
    const late = await runGraylane(args);
    expect(late.code).toBe(3);
    expect(JSON.parse(readFileSync(target, 'utf8')).rules[0].id).toBe('someone-else');
    const again = await runGraylane(['push', RAMP, target, '--dry-run']);
    const fresh = (
      /To write exactly this change: graylane (push .*)$/m.exec(again.stdout)?.[1] as string
    ).split(' ');
    const ok = await runGraylane(fresh);
    expect(ok.code).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe(readFileSync(RAMP, 'utf8'));
  });

  it('a current file that is not a valid config is replaced (and says so)', async () => {
    const target = file('{"versions": [');
    const r = await runGraylane(['push', RULES, target, '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the current config is not valid \(1 problem\): it will be replaced/);
  });

  it('a symlinked target (ConfigMap layout) is written where it points; the link stays; the mode is kept', async () => {
    const base = join(dir, `cm-${++n}`);
    mkdirSync(join(base, '..2026_01'), { recursive: true });
    writeFileSync(join(base, '..2026_01', 'rules.json'), readFileSync(RULES));
    chmodSync(join(base, '..2026_01', 'rules.json'), 0o640);
    symlinkSync('..2026_01', join(base, '..data'));
    symlinkSync('..data/rules.json', join(base, 'rules.json'));
    const r = await runGraylane(['push', RAMP, join(base, 'rules.json'), '--yes']);
    expect(r.code).toBe(0);
    expect(lstatSync(join(base, 'rules.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(base, '..2026_01', 'rules.json'), 'utf8')).toBe(
      readFileSync(RAMP, 'utf8'),
    );
    expect(statSync(join(base, '..2026_01', 'rules.json')).mode & 0o777).toBe(0o640);
  });

  it('--json: a machine-readable result with the revisions and the exit code', async () => {
    const target = file(readFileSync(RULES, 'utf8'));
    const r = await runGraylane(['push', RAMP, target, '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      target,
      revision: expect.stringMatching(/^sha256:/),
      current: 'valid',
      changed: true,
      changedRuleIds: ['canary'],
      written: true,
      newRevision: expect.stringMatching(/^sha256:/),
      exitCode: 0,
    });
  });

  it('two operators push different configs with the same --expect-revision at once: one wins, one conflicts clearly', async () => {
    const target = file(readFileSync(RULES, 'utf8'));
    const rev = /at revision (\S+)$/m.exec(
      (await runGraylane(['push', RAMP, target, '--dry-run'])).stdout,
    )?.[1] as string;
    const [a, b] = await Promise.all(
      ['op-a', 'op-b'].map((id) =>
        runGraylane(['push', source(id), target, '--yes', '--expect-revision', rev]),
      ),
    );
    const runs = [a, b] as CliRun[];
    expect(runs.map((r) => r.code).sort()).toEqual([0, 3]);
    const winner = runs[0]?.code === 0 ? 'op-a' : 'op-b';
    expect(JSON.parse(readFileSync(target, 'utf8')).rules[0].id).toBe(winner);
    expect(runs.find((r) => r.code === 3)?.stderr).toMatch(
      /conflict: .* (changed since it was read|is at revision)/,
    );
  });

  it('six pushes at once without --expect-revision: every write builds on the one before (no lost update)', async () => {
    const target = file(readFileSync(RULES, 'utf8'));
    const initial = /at revision (\S+)$/m.exec(
      (await runGraylane(['push', RAMP, target, '--dry-run'])).stdout,
    )?.[1] as string;
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_v, i) =>
        runGraylane(['push', source(`racer-${i}`), target, '--yes']),
      ),
    );
    const last = expectChain(runs, initial);
    const winner = runs.findIndex((r) => edge(r)?.[1] === last);
    expect(JSON.parse(readFileSync(target, 'utf8')).rules[0].id).toBe(`racer-${winner}`);
  }, 60_000);

  it('a lock left by a crashed push is taken over once it is old; a fresh one makes the push wait, then conflict', async () => {
    const target = file(readFileSync(RULES, 'utf8'));
    const lockFile = `${target}.graylane-push.lock`;
    writeFileSync(lockFile, '12345\n');
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(lockFile, old, old);
    const taken = await runGraylane(['push', RAMP, target, '--yes']);
    expect(taken.code).toBe(0);
    writeFileSync(lockFile, '12345\n');
    const t0 = performance.now();
    const blocked = await runGraylane(['push', RULES, target, '--yes']);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toMatch(/another push holds .*graylane-push\.lock/);
    expect(performance.now() - t0).toBeGreaterThan(4_000);
    rmSync(lockFile);
  }, 30_000);
});

describe('push with an interactive confirmation (runCli with an io that can answer)', () => {
  it.each([
    [true, 0],
    [false, 4],
  ] as const)('answer %s → exit %s', async (answer, code) => {
    const target = file(readFileSync(RULES, 'utf8'));
    const out: string[] = [];
    const asked: string[] = [];
    const exit = await runCli(['push', RAMP, target], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      color: false,
      confirm: (q) => (asked.push(q), Promise.resolve(answer)),
    });
    expect(exit).toBe(code);
    expect(asked).toEqual([`write this config to ${target}?`]);
    expect(readFileSync(target, 'utf8')).toBe(readFileSync(answer ? RAMP : RULES, 'utf8'));
  });
});

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

describe.skipIf(!binary)('push to a real etcd', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  }, 30_000);
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });
  const url = (key: string) => `etcd://${etcd.endpoint.replace('http://', '')}/${key}`;
  const value = async (key: string) => (await admin.get(key).string()) as string;
  const modRevision = async (key: string) =>
    (await admin.get(key).exec()).kvs[0]?.mod_revision ?? '0';

  it('creates an absent key (revision 0), previews and writes a change, skips an identical one', async () => {
    const created = await runGraylane(['push', RULES, url('graylane/push-1'), '--yes']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/at revision 0$/m);
    // A leading slash in the key: etcd://host//graylane/… is the key /graylane/…, another key.
    const slash = await runGraylane(['push', RULES, url('/graylane/push-1'), '--dry-run']);
    expect(slash.stdout).toMatch(/does not exist yet/);
    expect(await value('graylane/push-1')).toBe(readFileSync(RULES, 'utf8'));
    const rev = await modRevision('graylane/push-1');
    const changed = await runGraylane([
      'push',
      RAMP,
      url('graylane/push-1'),
      '--yes',
      '--sample',
      SAMPLE,
    ]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(new RegExp(`at revision ${rev}$`, 'm'));
    expect(changed.stdout).toMatch(/^changed rules: canary$/m);
    const now = await modRevision('graylane/push-1');
    expect(changed.stdout).toMatch(new RegExp(`is now at revision ${now}$`, 'm'));
    const same = await runGraylane(['push', RAMP, url('graylane/push-1'), '--yes']);
    expect(same.stdout).toMatch(/no change/);
    expect(await modRevision('graylane/push-1')).toBe(now);
  });

  it('two operators with the same --expect-revision at once: one wins, the other gets exit 3 and a clear message', async () => {
    await admin.put('graylane/push-2').value(readFileSync(RULES, 'utf8'));
    const rev = await modRevision('graylane/push-2');
    const runs = await Promise.all(
      ['op-a', 'op-b'].map((id) =>
        runGraylane([
          'push',
          source(id),
          url('graylane/push-2'),
          '--yes',
          '--expect-revision',
          rev,
        ]),
      ),
    );
    expect(runs.map((r) => r.code).sort()).toEqual([0, 3]);
    const loser = runs.find((r) => r.code === 3) as CliRun;
    expect(loser.stderr).toMatch(
      /conflict: etcd:\/\/127\.0\.0\.1:\d+\/graylane\/push-2 (changed since it was read \(revision \d+ → \d+\)|is at revision \d+, not \d+)/,
    );
    const winner = runs[0]?.code === 0 ? 'op-a' : 'op-b';
    expect(JSON.parse(await value('graylane/push-2')).rules[0].id).toBe(winner);
  });

  it('six pushes at once without --expect-revision: the writes form one chain (no lost update)', async () => {
    await admin.put('graylane/push-3').value(readFileSync(RULES, 'utf8'));
    const initial = await modRevision('graylane/push-3');
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_v, i) =>
        runGraylane(['push', source(`racer-${i}`), url('graylane/push-3'), '--yes']),
      ),
    );
    const last = expectChain(runs, initial);
    expect(await modRevision('graylane/push-3')).toBe(last);
  }, 60_000);

  it('a write between the dry run and the reviewed push is a conflict (exit 3); nothing is overwritten', async () => {
    await admin.put('graylane/push-4').value(readFileSync(RULES, 'utf8'));
    const dry = await runGraylane(['push', RAMP, url('graylane/push-4'), '--dry-run']);
    const args = (
      /To write exactly this change: graylane (push .*)$/m.exec(dry.stdout)?.[1] as string
    ).split(' ');
    await admin.put('graylane/push-4').value(doc('hotfix'));
    const r = await runGraylane(args);
    expect(r.code).toBe(3);
    expect(JSON.parse(await value('graylane/push-4')).rules[0].id).toBe('hotfix');
  });

  it('an unreachable etcd is exit 2 with the location, fast', async () => {
    const t0 = performance.now();
    const r = await runGraylane(['push', RAMP, 'etcd://127.0.0.1:9/graylane/x', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read etcd:\/\/127\.0\.0\.1:9\/graylane\/x: /);
    expect(performance.now() - t0).toBeLessThan(15_000);
  });
});
