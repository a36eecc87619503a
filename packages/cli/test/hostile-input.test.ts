import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ETCD_SKIP_MESSAGE,
  findEtcdBinary,
  startEtcd,
  startTcpProxy,
  type EtcdProcess,
  type TcpProxy,
} from '../../etcd/test/harness.js';
import { runGraylane, runInProcess } from './helpers.js';

/**
 * The CLI against input an operator's bad day produces, and an attacker would:
 *
 * - SRC-05 / CFG-01 for the CLI: a config that is not UTF-8 (saved as Latin-1, a stray byte, a
 *   cut character) is invalid — `validate` says so (text and `--json`), `diff` and `push` refuse
 *   it — from a file, stdin and etcd alike, instead of validating a U+FFFD-replaced document and
 *   pushing different bytes than the file holds.
 * - MISC-03: an etcd URL's password never appears in anything printed, even when the command
 *   line is mistyped so that the URL is echoed back (a password with '/', spaces, '@', ':').
 * - push partial failures against a real etcd behind a proxy the test controls: etcd gone after
 *   the read, the answer lost after the transaction was sent (the write landed), another operator
 *   writing meanwhile, a role that may read but not write. The outcome is stated honestly (never
 *   "nothing written" when it may have been), `--json` always prints a result, and a re-run is
 *   safe.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = readFileSync(join(EXAMPLES, 'rules.json'), 'utf8');
const RAMP = readFileSync(join(EXAMPLES, 'ramp-20.json'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (bytes: string | Buffer): string => {
  const path = join(dir, `f${++n}.json`);
  writeFileSync(path, bytes);
  return path;
};

/** RULES with `bytes` spliced into a matcher value: a valid config if decoded leniently. */
const spliced = (bytes: readonly number[]): Buffer => {
  const at = RULES.indexOf('/api/checkout') + '/api/'.length;
  return Buffer.concat([
    Buffer.from(RULES.slice(0, at)),
    Buffer.from(bytes),
    Buffer.from(RULES.slice(at)),
  ]);
};
const NOT_UTF8: readonly [string, Buffer][] = [
  ['a Latin-1 é', spliced([0xe9])],
  ['a Windows-1252 dash', spliced([0x96])],
  ['a lone continuation byte', spliced([0x80])],
  ['an overlong sequence', spliced([0xc0, 0xaf])],
  ['an encoded surrogate', spliced([0xed, 0xb0, 0x80])],
  ['a character cut short', spliced([0xe2, 0x82])],
  ['a BOM, then Latin-1', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), spliced([0xe9])])],
  [
    'UTF-16LE with its BOM',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(RULES, 'utf16le')]),
  ],
];
const NOT_UTF8_LINE = /^error \$: not valid UTF-8/m;

describe('CFG-01 a config that is not UTF-8 is invalid everywhere the CLI reads one', () => {
  it.each(NOT_UTF8)('CFG-01 validate FILE, %s: exit 1, the reason at $', async (_n, bytes) => {
    const r = await runInProcess(['validate', file(bytes)]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(NOT_UTF8_LINE);
  });

  it.each(NOT_UTF8)(
    'CFG-01 validate - (stdin) --json, %s: ok false, errors[0] at $',
    async (_n, bytes) => {
      const r = await runInProcess(['validate', '-', '--json'], { stdin: bytes });
      expect(r.code).toBe(1);
      const json = JSON.parse(r.out) as {
        ok: boolean;
        errors: { path: string; message: string }[];
      };
      expect(json.ok).toBe(false);
      expect(json.errors[0]).toMatchObject({
        path: '$',
        message: expect.stringMatching(/not valid UTF-8/),
      });
    },
  );

  it.each(NOT_UTF8)(
    'CFG-01 push FILE TARGET, %s: exit 1, the target untouched',
    async (_n, bytes) => {
      const target = file(RULES);
      const r = await runInProcess(['push', file(bytes), target, '--yes']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/not valid UTF-8/);
      expect(readFileSync(target, 'utf8')).toBe(RULES);
    },
  );

  it.each(NOT_UTF8)('CFG-01 diff OLD NEW, %s as the new config: exit 1', async (_n, bytes) => {
    const r = await runInProcess(['diff', file(RULES), file(bytes)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not valid UTF-8/);
  });

  it.each(NOT_UTF8)(
    'CFG-01 push onto a file target holding %s: the current config counts as invalid and is replaced',
    async (_n, bytes) => {
      const target = file(bytes);
      const r = await runInProcess(['push', file(RAMP), target, '--yes']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/the current config is not valid \(1 problem\): it will be replaced/);
      expect(readFileSync(target, 'utf8')).toBe(RAMP);
    },
  );

  it('CFG-01 the built binary with binary garbage on stdin: exit 1, one clear line, no stack', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_v, i) => (i * 131 + 7) % 256));
    const r = await runGraylane(['validate', '-'], { stdin: garbage });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(NOT_UTF8_LINE);
    expect(r.stderr).toBe('');
  });
});

describe('MISC-03 an etcd URL echoed back by a mistyped command line never shows its password', () => {
  const PASSWORDS: readonly [string, string][] = [
    ['a slash', 'pa/ss-SECRET'],
    ['a space', 'pa ss-SECRET'],
    ['an @', 'p@ss-SECRET'],
    ['a colon', 'pa:ss-SECRET'],
    ['a percent-encoded slash', 'pa%2Fss-SECRET'],
    ['a quote and a backslash', 'pa"ss\\-SECRET'],
  ];
  const MISTAKES: readonly [string, (url: string) => string[]][] = [
    ['the URL given as the command', (url) => [url, 'validate']],
    ['the URL given as an unknown --option=value', (url) => ['validate', `--from=${url}`]],
    ['the URL as the --now instant', (url) => ['diff', 'a.json', 'b.json', '--now', url]],
    ['the URL as a --ttl', (url) => ['sign', 'beta', '--key-file', 'k', '--ttl', url]],
    ['the URL as an --upstream', (url) => ['render', 'nginx', 'x.json', '--upstream', url]],
  ];
  const rows = PASSWORDS.flatMap(([what, pw]) =>
    MISTAKES.map(([how, args]) => [what, how, pw, args] as const),
  );
  it.each(rows)(
    'MISC-03 a password with %s, %s: no output line carries it',
    async (_w, _h, pw, args) => {
      const r = await runInProcess(args(`etcd://ops:${pw}@127.0.0.1:9/graylane/config`));
      expect(r.code).toBe(2);
      const all = `${r.out}\n${r.err}`;
      expect(all).not.toContain('SECRET');
      expect(all).not.toContain(pw);
      expect(all).not.toContain(decodeURIComponent(pw));
    },
  );
});

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

describe.skipIf(!binary)('push partial failures against a real etcd', () => {
  let etcd: EtcdProcess;
  let proxy: TcpProxy;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });

  interface Failure {
    readonly name: string;
    /** Runs at the confirmation prompt: between the read and the write. */
    meanwhile(key: string): Promise<void>;
    readonly code: number;
    /** What stderr must say. */
    readonly says: RegExp;
    /** The value etcd holds after the push: `rules`, `ramp` or `other`. */
    readonly landed: 'rules' | 'ramp' | 'other';
    /** `written` in --json. */
    readonly written: boolean | 'unknown';
  }
  const OTHER = RULES.replace('"qa"', '"qa-hotfix"');
  const FAILURES: readonly Failure[] = [
    {
      name: 'etcd unreachable after the read (connections cut, new ones refused)',
      meanwhile: async () => proxy.block(),
      code: 2,
      says: /cannot write .*: the outcome is unknown.*run the same push again/is,
      landed: 'rules',
      written: 'unknown',
    },
    {
      name: 'the answer lost after the transaction was sent (the write landed)',
      meanwhile: async () => proxy.silence('to-client'),
      code: 2,
      says: /cannot write .*: the outcome is unknown.*run the same push again/is,
      landed: 'ramp',
      written: 'unknown',
    },
    {
      name: 'another operator wrote the key meanwhile (revision moved)',
      meanwhile: async (key) => void (await admin.put(key).value(OTHER)),
      code: 3,
      says: /conflict: .* changed since it was read .*nothing written/,
      landed: 'other',
      written: false,
    },
    {
      name: 'the key was deleted meanwhile',
      meanwhile: async (key) => void (await admin.delete().key(key)),
      code: 3,
      says: /conflict: .* changed since it was read \(revision \d+ → 0\)/,
      landed: 'other',
      written: false,
    },
  ];

  it.each(FAILURES.map((f) => [f.name, f] as const))(
    'push, %s: exit code, an honest message, a JSON result, the real outcome in etcd',
    async (_n, failure) => {
      proxy = await startTcpProxy(etcd.port);
      try {
        const key = `graylane/partial-${++n}`;
        await admin.put(key).value(RULES);
        const url = `etcd://${proxy.endpoint.replace('http://', '')}/${key}`;
        const r = await runInProcess(['push', file(RAMP), url, '--json'], {
          confirm: async () => (await failure.meanwhile(key), true),
        });
        expect(r.code).toBe(failure.code);
        expect(r.err).toMatch(failure.says);
        const json = JSON.parse(r.out) as { written: unknown; exitCode: number };
        expect(json).toMatchObject({ written: failure.written, exitCode: failure.code });
        const now = (await admin.get(key).string()) ?? undefined;
        const expected = { rules: RULES, ramp: RAMP, other: failure.landed === 'other' ? now : '' };
        expect(now).toBe(expected[failure.landed]);
        if (failure.written === 'unknown') {
          // A re-run through a healthy path is safe either way: it compares first.
          const again = await runInProcess([
            'push',
            file(RAMP),
            `etcd://${etcd.endpoint.replace('http://', '')}/${key}`,
            '--yes',
          ]);
          expect(again.code).toBe(0);
          expect(await admin.get(key).string()).toBe(RAMP);
        }
      } finally {
        await proxy.close();
      }
    },
    60_000,
  );

  it('push --json with an invalid new config: exit 1 and the problems as JSON', async () => {
    const r = await runInProcess([
      'push',
      file(NOT_UTF8[0]?.[1] as Buffer),
      file(RULES),
      '--json',
      '--yes',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      written: false,
      exitCode: 1,
      errors: [{ path: '$', message: expect.stringMatching(/not valid UTF-8/) }],
    });
  });

  it('push --json when etcd is unreachable at the read: exit 2 and a JSON result all the same', async () => {
    const r = await runInProcess([
      'push',
      file(RAMP),
      'etcd://127.0.0.1:9/graylane/x',
      '--json',
      '--yes',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read etcd:\/\/127\.0\.0\.1:9\/graylane\/x/);
    expect(JSON.parse(r.out)).toMatchObject({
      written: false,
      exitCode: 2,
      error: { code: 'io', message: expect.stringMatching(/cannot read/) },
    });
  }, 30_000);
});

describe('I1 the CLI never writes a terminal control sequence it read from its input', () => {
  // A config from etcd or another team's file can hold any string: what the CLI reports about it
  // (paths, names, messages) is shown, never executed by the terminal.
  const SEQUENCES: [string, string][] = [
    ['clear screen (CSI 2J)', '\u001b[2J'],
    ['set the window title (OSC … BEL)', '\u001b]0;pwned\u0007'],
    ['an 8-bit CSI (C1)', '\u009b2J'],
    ['carriage return over the line', 'ok\r'],
    ['backspaces', 'a\b\b\b'],
    ['a colour sequence', '\u001b[31mred'],
  ];
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
  const configs = (seq: string): [string, string][] => [
    [
      'a header-matcher key',
      JSON.stringify({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          { id: 'r', match: { header: { [`x-a${seq}`]: { equals: '1' } } }, version: 'beta' },
        ],
      }),
    ],
    [
      'a rule id',
      JSON.stringify({
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [{ id: `r${seq}`, version: 'beta' }],
      }),
    ],
    ['a version label', JSON.stringify({ versions: ['stable', `beta${seq}`], default: 'stable' })],
  ];
  it.each(
    SEQUENCES.flatMap(([s, seq]) => configs(seq).map(([where, text]) => [s, where, text] as const)),
  )('I1 %s in %s: validate and explain print it escaped', async (_s, _w, text) => {
    const path = file(text);
    for (const args of [
      ['validate', path],
      ['explain', path, '--path', '/'],
      ['validate', path, '--json'],
    ]) {
      const { out, err } = await runInProcess(args);
      expect(`${out}\n${err}`, args.join(' ')).not.toMatch(RAW);
      expect(`${out}${err}`.length, args.join(' ')).toBeGreaterThan(0);
    }
  });
});
