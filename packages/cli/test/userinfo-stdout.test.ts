import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGraylane, runInProcess } from './helpers.js';

/**
 * MISC-03, review 134 D3: `push` to a path-shaped typo of an etcd URL (`etcd/ops:pw@h/k`, a
 * fullwidth `etcd：//…`, `dir/ops;pw@h/k`) read it as a file, and stdout — never scrubbed —
 * printed `target etcd/ops:pw@h/k at revision absent` and `… does not exist yet: it will be
 * created`; had the directory existed, push would have created a file whose path holds the
 * password. Now such a location is a usage error before anything is read or written; a file so
 * named is reached as `./name` or by its absolute path, and the lines push composes around it on
 * stdout show its userinfo as `***@`. The config itself is data: printed and pushed byte for byte
 * even where it holds the same text (controls).
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = readFileSync(join(EXAMPLES, 'rules.json'), 'utf8');
const PW = 'S3cr3t-Vk9';
const SHORT = 'Vk9';

let cwd = '';
let dir = '';
let rules = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-userinfo-stdout-'));
  rules = join(dir, 'rules.json');
  writeFileSync(rules, RULES);
  cwd = process.cwd();
  process.chdir(dir);
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

/** One run as one process: the secrets registry starts empty. */
async function cli(
  args: readonly string[],
  stdin = '',
  keepSecrets = false,
): Promise<{ code: number; out: string; err: string }> {
  if (!keepSecrets)
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('@graylane/cli.secrets.v2')];
  return runInProcess(args, { stdin });
}

/** Every file under `root`, relative. */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

/** Path-shaped typos of `etcd://ops:<pw>@127.0.0.1:9/graylane/config`. */
const TYPOS: readonly [name: string, loc: (pw: string) => string][] = [
  ['etcd/ops:…@ (one slash, no colon)', (pw) => `etcd/ops:${pw}@127.0.0.1:9/graylane/config`],
  ['etcd：//ops:…@ (fullwidth colon)', (pw) => `etcd\uFF1A//ops:${pw}@127.0.0.1:9/graylane/config`],
  [
    '(control) etcd:／ops:…@ (fullwidth slash: etcd: was refused before)',
    (pw) => `etcd:\uFF0Fops:${pw}@127.0.0.1:9/graylane/config`,
  ],
  ['etcd/ops;…@ (";" for ":")', (pw) => `etcd/ops;${pw}@127.0.0.1:9/graylane/config`],
  ['etcd/ops…@ (no separator)', (pw) => `etcd/ops${pw}@127.0.0.1:9/graylane/config`],
  ['dir/ops:…@ (no scheme)', (pw) => `dir/ops:${pw}@127.0.0.1:9/graylane/config`],
  ['dir/ops∶…@ (ratio U+2236 for ":")', (pw) => `dir/ops\u2236${pw}@127.0.0.1:9/graylane/config`],
  ['ops,…@ (no scheme, "," for ":")', (pw) => `ops,${pw}@127.0.0.1:9/graylane/config`],
  ['ops:…＠ (fullwidth @)', (pw) => `ops:${pw}\uFF20127.0.0.1:9/graylane/config`],
];
const MODES: readonly [string, string[]][] = [
  ['--yes', ['--yes']],
  ['--yes --json', ['--yes', '--json']],
  ['--dry-run', ['--dry-run']],
  ['--dry-run --json', ['--dry-run', '--json']],
];

describe('MISC-03 review 134 D3: push to a path-shaped typo writes nothing and prints no password', () => {
  const rows = TYPOS.flatMap(([name, loc]) =>
    [true, false].flatMap((exists) =>
      MODES.map(
        ([mode, flags]) =>
          [
            name,
            exists ? 'its directory exists' : 'no such directory',
            mode,
            loc,
            exists,
            flags,
          ] as const,
      ),
    ),
  );
  it.each(rows)('MISC-03 %s, %s, push %s', async (_n, _e, _m, loc, exists, flags) => {
    for (const pw of [PW, SHORT]) {
      const location = loc(pw);
      if (exists) mkdirSync(join(dir, dirname(location)), { recursive: true });
      const before = tree(dir);
      const r = await cli(['push', rules, location, ...flags]);
      const what = `${JSON.stringify(location)} ${flags.join(' ')}\nstdout: ${r.out}\nstderr: ${r.err}`;
      expect(r.out, what).not.toContain(SHORT);
      expect(r.err, what).not.toContain(SHORT);
      expect(r.code, what).toBe(2);
      expect(r.err, what).toMatch(/not an etcd location|not a location/);
      expect(r.err, what).toContain('***@');
      expect(tree(dir), what).toEqual(before);
      for (const entry of readdirSync(dir))
        if (entry !== 'rules.json') rmSync(join(dir, entry), { recursive: true });
    }
  });

  it.each([
    ['etcd/ops:…@', `etcd/ops:Hunter2xyZ@h/k`],
    ['etcd：//ops:…@', `etcd\uFF1A//ops:Hunter2xyZ@h/k`],
  ])('MISC-03 the built binary: the review repro %s', async (_n, location) => {
    for (const flags of [['--yes'], ['--yes', '--json']]) {
      const r = await runGraylane(['push', rules, location, ...flags], { cwd: dir });
      expect(`${r.stdout}\n${r.stderr}`).not.toContain('Hunter2');
      expect(r.code).toBe(2);
      expect(r.stdout).not.toMatch(/target .* at revision|does not exist yet/);
      expect(tree(dir)).toEqual(['rules.json']);
    }
  });
});

/** File names a user may really mean, written so that they are files: `./name`, an absolute path. */
const NAMED: readonly [name: string, path: (pw: string) => string][] = [
  ['./etcd:ops:…@x.json', (pw) => `./etcd:ops:${pw}@x.json`],
  ['./ops;…@x.json', (pw) => `./ops;${pw}@x.json`],
  ['./ops：…@x.json (fullwidth colon)', (pw) => `./ops\uFF1A${pw}@x.json`],
  ['ABS/ops,…@x.json', (pw) => `ABS/ops,${pw}@x.json`],
  ['ABS/etcd/ops:…@x.json', (pw) => `ABS/etcd/ops:${pw}@x.json`],
];

describe('MISC-03 review 134: push names a file so named without its userinfo on stdout', () => {
  const rows = NAMED.flatMap(([name, path]) =>
    MODES.map(([mode, flags]) => [name, mode, path, flags] as const),
  );
  it.each(rows)('MISC-03 push to %s, %s', async (_n, _m, path, flags) => {
    const location = path(PW).replace('ABS', dir);
    const file = location.startsWith('/') ? location : join(dir, location);
    mkdirSync(dirname(file), { recursive: true });
    try {
      const r = await cli(['push', rules, location, ...flags]);
      const what = `${JSON.stringify(location)} ${flags.join(' ')}\nstdout: ${r.out}\nstderr: ${r.err}`;
      expect(r.code, what).toBe(0);
      expect(r.out, what).not.toContain(PW);
      expect(r.err, what).not.toContain(PW);
      expect(r.out, what).toContain('***@x.json');
      // The file is the one named, and holds the config byte for byte.
      if (flags.includes('--yes')) expect(readFileSync(file, 'utf8')).toBe(RULES);
      if (flags.includes('--json'))
        expect(JSON.parse(r.out)).toMatchObject({
          ok: true,
          target: expect.stringContaining('***@'),
        });
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('MISC-03 review 134 (control): the config is data, never scrubbed', () => {
  const RAMP = JSON.parse(readFileSync(join(EXAMPLES, 'ramp-schedule.json'), 'utf8')) as {
    rules: unknown[];
  };
  /** The ramp example plus rules whose values hold the URL and the password in several spellings. */
  const holding = (pw: string): string =>
    JSON.stringify(
      {
        ...RAMP,
        rules: [
          {
            id: 'url',
            match: { header: { 'x-etcd': { equals: `etcd://ops:${pw}@h/k` } } },
            version: 'beta',
          },
          {
            id: 'spellings',
            match: { header: { 'x-user': { in: [`ops;${pw}@h`, pw, `ops\uFF1A${pw}\uFF20h`] } } },
            version: 'beta',
          },
          ...RAMP.rules,
        ],
      },
      null,
      2,
    );
  it.each([
    ['(control) push - <file> writes the config read, byte for byte', 'push'],
    ['(control) pause prints the config with only pausedAt added', 'pause'],
  ])('%s, the password registered in the same process', async (_n, how) => {
    const config = holding(PW);
    const target = join(dir, 'holding.json');
    writeFileSync(target, how === 'push' ? '' : config);
    // A mistyped URL with the same password first: it is now a registered secret.
    expect((await cli(['validate', `etcd/ops:${PW}@h/k`])).code).toBe(2);
    if (how === 'push') {
      const r = await cli(['push', '-', target, '--yes'], config, true);
      expect(r.code, r.err).toBe(0);
      expect(readFileSync(target, 'utf8')).toBe(config);
    } else {
      const at = '2026-12-02T12:00:00Z';
      const r = await cli(['pause', target, '--rule', 'ramp', '--at', at], '', true);
      expect(r.code, r.err).toBe(0);
      const expected = JSON.parse(config) as { rules: Record<string, unknown>[] };
      const ramp = expected.rules.find((rule) => rule['id'] === 'ramp') as Record<string, unknown>;
      ramp['pausedAt'] = '2026-12-02T12:00:00.000Z';
      expect(r.out).toBe(JSON.stringify(expected, null, 2));
      expect(r.out).toContain(`etcd://ops:${PW}@h/k`);
    }
    rmSync(target);
  });
});
