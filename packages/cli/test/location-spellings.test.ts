import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../src/index.js';
import { parseLocation } from '../src/location.js';
import { redact } from '../src/secrets.js';
import { runGraylane } from './helpers.js';

/**
 * MISC-03 (review 127 D1): a location typed with its URL misspelt — `etcd:/ops:pw@…` (a slash
 * missing), `etcd:ops:pw@…`, backslashes, upper case, `etcd%3A//`, another scheme, a userinfo
 * typed percent-encoded — was read as a file path, and every message echoed it password and all
 * (`cannot read config etcd:/ops:S3cr3tPW@…: no such file`, push's `cannot lock …`, the `--json`
 * error). Every row here runs one spelling × one command that takes a location × text and
 * `--json`, for seven passwords (long, short, with '@', ':', '/', '%40', a quote and a
 * backslash): the exit is a usage error about the location, nothing printed holds any part of the
 * password (each holds the marker `Zq7`), and nothing is written. Rows named `(control)` are
 * spellings that are (and were) files or etcd URLs.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES = readFileSync(join(EXAMPLES, 'rules.json'), 'utf8');
const MARK = 'Zq7';
const PASSWORDS: readonly string[] = [
  `S3cr3t-${MARK}-long`,
  MARK,
  `p@${MARK}-w`,
  `p:${MARK}-w`,
  `p/${MARK}-w`,
  `p%40${MARK}-w`,
  `p"${MARK}\\w`,
];
const AFTER = '127.0.0.1:9/graylane/config';

/** How a URL starts (everything before `user:password@host…`), as a hand mistypes it. */
const SPELLINGS: readonly [name: string, url: (pw: string) => string][] = [
  ...[
    'etcd:',
    'etcd:/',
    'etcd:///',
    'etcd:////',
    'etcd:\\',
    'etcd:\\\\',
    'etcd:/\\',
    'ETCD:/',
    'Etcd:',
    'etcds:',
    'ETCDS:/',
    'etcds:\\\\',
    'etcd%3A//',
    'etcd%3a/',
    ' etcd://',
    '\tetcd://',
    'etcd//',
    'etcd\\\\',
    'http://',
    'http:/',
    'https:',
    'HTTP://',
    'redis://',
    'x-y+z.w://',
    's3:',
    'C:\\',
    'c:/',
    '',
  ].map((start): [string, (pw: string) => string] => [
    JSON.stringify(`${start}ops:…@`),
    (pw) => `${start}ops:${pw}@${AFTER}`,
  ]),
  ['etcd://ops%3A…@ (the separator encoded)', (pw) => `etcd://ops%3A${pw}@${AFTER}`],
  ['etcd://ops:…%40host (the @ encoded)', (pw) => `etcd://ops:${pw}%40${AFTER}`],
  ['etcd://ops%3A…%40host (both encoded)', (pw) => `etcd://ops%3A${pw}%40${AFTER}`],
  ['etcd:/ops%3A…%40host (both encoded, a slash missing)', (pw) => `etcd:/ops%3A${pw}%40${AFTER}`],
  ['etcd:// ops:…@ (a space before the user)', (pw) => `etcd:// ops:${pw}@${AFTER}`],
];

let cwd = '';
let dir = '';
let rules = '';
let target = '';
let keyFile = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-spellings-'));
  rules = join(dir, 'rules.json');
  target = join(dir, 'target.json');
  keyFile = join(dir, 'qa.key');
  writeFileSync(rules, RULES);
  writeFileSync(target, RULES);
  writeFileSync(keyFile, readFileSync(join(EXAMPLES, 'qa.key')));
  writeFileSync(join(dir, 'sample.jsonl'), '{"path":"/"}\n');
  // A relative location that were a file path would be created here, never in the repository.
  cwd = process.cwd();
  process.chdir(dir);
});
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

/** Every command that takes a location, the location in each place it can go. */
const COMMANDS: readonly [name: string, args: (loc: string) => string[], json: boolean][] = [
  ['validate L', (l) => ['validate', l], true],
  ['explain L', (l) => ['explain', l, '--header', 'X-User-Group: qa'], true],
  ['diff L NEW', (l) => ['diff', l, rules], true],
  ['diff OLD L', (l) => ['diff', rules, l], true],
  ['diff --sample L', (l) => ['diff', rules, rules, '--sample', l], true],
  ['push L TARGET', (l) => ['push', l, target, '--yes'], true],
  ['push CONFIG L', (l) => ['push', rules, l, '--yes'], true],
  ['push --sample L', (l) => ['push', rules, target, '--yes', '--sample', l], true],
  ['pause L', (l) => ['pause', l, '--rule', 'canary'], false],
  ['bucket --config L', (l) => ['bucket', 'canary', 'u-1', '--config', l], true],
  ['sign --key-file L', (l) => ['sign', 'beta', '--key-file', l], false],
  [
    'verify --config L',
    (l) => ['verify', 'beta.1.k1.x', '--key-file', keyFile, '--config', l],
    false,
  ],
  ['verify --key-file L', (l) => ['verify', 'beta.1.k1.x', '--key-file', l], false],
  ['verify --keys-file L', (l) => ['verify', 'beta.1.k1.x', '--keys-file', l], false],
  ['render nginx L', (l) => ['render', 'nginx', l], false],
];

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color: false,
    stdin: () => Promise.resolve(Buffer.alloc(0)),
    confirm: () => Promise.resolve(undefined),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A location usage error: what the CLI says about a misspelt URL (never "no such file"). */
const LOCATION_ERROR =
  /not an etcd location|not a location|must be written as it is|the user name holds/;

const rows = SPELLINGS.flatMap(([spelling, url]) =>
  COMMANDS.map(([command, args, json]) => [spelling, command, url, args, json] as const),
);

describe('MISC-03 a misspelt URL location is a usage error that never shows its password', () => {
  it.each(rows)('MISC-03 %s as %s', async (_s, _c, url, args, json) => {
    const before = readdirSync(dir).sort();
    for (const pw of PASSWORDS) {
      for (const mode of json ? [[], ['--json']] : [[]]) {
        const r = await cli([...args(url(pw)), ...mode]);
        const all = `${r.out}\n${r.err}`;
        const what = `${JSON.stringify(url(pw))} ${mode.join(' ')}:\n${all}`;
        expect(all, what).not.toContain(MARK);
        expect(r.code, what).toBe(2);
        expect(r.err, what).toMatch(LOCATION_ERROR);
        if (mode.length > 0)
          expect(JSON.parse(r.out), what).toMatchObject({
            ok: false,
            error: { code: 'usage', message: expect.stringMatching(LOCATION_ERROR) },
          });
      }
    }
    // Nothing written: no file, no lock, and push's target as it was.
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(target, 'utf8')).toBe(RULES);
  });
});

describe('MISC-03 a mistyped command line echoing a misspelt URL never shows its password', () => {
  const MISTAKES: readonly [string, (url: string) => string[]][] = [
    ['the URL given as the command', (url) => [url, 'validate']],
    ['the URL as an unknown --option=value', (url) => ['validate', `--from=${url}`]],
    ['the URL as the --now instant', (url) => ['diff', rules, rules, '--now', url]],
    ['the URL as a --ttl', (url) => ['sign', 'beta', '--key-file', keyFile, '--ttl', url]],
  ];
  // `(control)`: held before — an unknown option is not echoed, and a plain `scheme://user:pw@`
  // was scrubbed by the URL pattern.
  const control = (how: string, url: (pw: string) => string): string =>
    how.includes('unknown --option') || /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/ops:x@/.test(url('x'))
      ? '(control) '
      : '';
  const mistakes = SPELLINGS.flatMap(([spelling, url]) =>
    MISTAKES.map(([how, args]) => [`${control(how, url)}${spelling}`, how, url, args] as const),
  );
  it.each(mistakes)('MISC-03 %s, %s', async (_s, _h, url, args) => {
    for (const pw of PASSWORDS)
      for (const mode of [[], ['--json']]) {
        const r = await cli([...args(url(pw)), ...mode]);
        const all = `${r.out}\n${r.err}`;
        expect(all, `${JSON.stringify(url(pw))}:\n${all}`).not.toContain(MARK);
        expect(r.code).toBe(2);
      }
  });
});

describe('MISC-03 the built binary: the review repro, stderr and --json', () => {
  const REPRO = [
    'etcd:/ops:S3cr3tPW@127.0.0.1:42379/k',
    'etcd:ops:S3cr3tPW@127.0.0.1/k',
    'ETCD:\\\\ops:S3cr3tPW@127.0.0.1/k',
  ];
  const runs = REPRO.flatMap((url) =>
    [
      (): string[] => ['validate', url, '--json'],
      (): string[] => ['explain', url, '--json'],
      (): string[] => ['push', rules, url, '--json', '--yes'],
    ].map((args) => [url, args()[0], args] as const),
  );
  it.each(runs)('MISC-03 %s with %s', async (_u, _c, args) => {
    const r = await runGraylane(args(), { cwd: dir });
    expect(`${r.stdout}${r.stderr}`).not.toContain('S3cr3t');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an etcd location/);
    expect(r.stderr).not.toMatch(/cannot lock|no such file/);
  });
});

describe('MISC-03 (control) what is and was a file or an etcd URL still is', () => {
  it.each([
    ['(control) a file whose name looks like a URL, read as ./name', './etcd:ops:x@y.json'],
    ['(control) an absolute path with ":" and "@"', 'ABS/team:prod@v2.json'],
    ['(control) a relative name with "@" only', 'team@prod.json'],
    ['(control) a relative name with ":" only', 'rules:v2.json'],
  ])('%s', async (_n, name) => {
    const path = name.replace('ABS', dir);
    writeFileSync(path.startsWith('/') ? path : join(dir, path), RULES);
    const r = await cli(['validate', path, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, location: path });
  });

  it.each([
    [
      '(control) etcd:// with the password percent-encoded: a bad port',
      'etcd://ops:p%40ss@h:99999/k',
    ],
    ['(control) ETCD:// upper case: a bad port', 'ETCD://ops:pw@h:99999/k'],
    ['(control) etcd:// with no key', 'etcd://ops:pw@h:2379'],
  ])('%s: parsed as etcd, its own usage error, userinfo scrubbed', async (_n, url) => {
    const r = await cli(['validate', url]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not host\[:port\]|expected etcd:\/\/\[user@\]host/);
    expect(r.err).toMatch(/:\/\/\*\*\*@h/);
  });

  it('(control) an etcd:// key holding %40 is still a key, not a userinfo', () => {
    expect(parseLocation('etcd://db:2379/team%40corp/config', {})).toMatchObject({
      kind: 'etcd',
      hosts: ['http://db:2379'],
      key: 'team@corp/config',
      display: 'etcd://db:2379/team%40corp/config',
    });
  });
});

describe('MISC-03 redact: a URL password never registered, in any spelling of the slashes', () => {
  // Never registered (no CLI run saw them): only the URL pattern can scrub them.
  it.each([
    ['(control) etcd://', 'etcd://'],
    ['etcd: (no slash)', 'etcd:'],
    ['etcd:/ (one slash)', 'etcd:/'],
    ['etcd:/// (three)', 'etcd:///'],
    ['etcd:\\\\ (backslashes)', 'etcd:\\\\'],
    ['HTTP:\\ (one backslash)', 'HTTP:\\'],
    ['(control) https:// in a sentence', 'see https://'],
  ])('MISC-03 %s', (_n, start) => {
    for (const pw of ['Wv4x', 'Wv4x:y', 'Wv4x%40y', 'a"Wv4x\\b'])
      expect(redact(`cannot read ${start}ops:${pw}@db:2379/k`)).not.toContain('Wv4x');
  });
});
