import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocation } from '../src/location.js';
import { redact } from '../src/secrets.js';
import { runGraylane, runInProcess } from './helpers.js';

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
        const r = await runInProcess([...args(url(pw)), ...mode]);
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
        const r = await runInProcess([...args(url(pw)), ...mode]);
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
    const r = await runInProcess(['validate', path, '--json']);
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
    const r = await runInProcess(['validate', url]);
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

/**
 * Review 134 D2/D3 (MISC-03): the userinfo typed with `;` or `,` for `:`, separators encoded as
 * `%3B`/`%2C`, fullwidth and other Unicode look-alikes of `:` `/` `@` (`：` `﹕` `∶` `꞉` `／` `∕` `＠` `﹫`,
 * fullwidth letters), a path-shaped typo (`etcd/ops:pw@…`, `dir/ops:pw@…`), a user-only userinfo
 * and one with no separator at all. The whole userinfo is secret: the user name that once was
 * printed (`user ops;Hunter2 has no password`), the `is not host[:port]` message that echoed
 * `ops:pw＠h`, and push's stdout (`target etcd/ops:pw@h/k at revision absent`) never show it.
 * Every row: each command × text and --json × 7 passwords, stdout and stderr.
 */
/**
 * One CLI run as a process sees it: the secrets registry (once per process, on `globalThis`)
 * starts empty, so a row never passes on what an earlier row registered.
 */
async function freshCli(args: readonly string[]): ReturnType<typeof runInProcess> {
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@graylane/cli.secrets.v2')];
  return runInProcess(args);
}

const LOCATION_ERROR_134 =
  /not an etcd location|not a location|must be written as it is|the user name holds|the '@' that ends the userinfo|has no password/;

const SEPARATOR_SPELLINGS: readonly [name: string, url: (pw: string) => string][] = [
  ['etcd://ops;…@ (";" for ":")', (pw) => `etcd://ops;${pw}@${AFTER}`],
  ['etcd://ops,…@ ("," for ":")', (pw) => `etcd://ops,${pw}@${AFTER}`],
  ['etcd://ops%3B…@ (";" encoded)', (pw) => `etcd://ops%3B${pw}@${AFTER}`],
  ['etcd://ops%2c…@ ("," encoded)', (pw) => `etcd://ops%2c${pw}@${AFTER}`],
  ['etcd://ops：…@ (fullwidth colon U+FF1A)', (pw) => `etcd://ops\uFF1A${pw}@${AFTER}`],
  ['etcd://ops﹕…@ (small colon U+FE55)', (pw) => `etcd://ops\uFE55${pw}@${AFTER}`],
  ['etcd://ops∶…@ (ratio U+2236)', (pw) => `etcd://ops\u2236${pw}@${AFTER}`],
  ['etcd://ops꞉…@ (modifier colon U+A789)', (pw) => `etcd://ops\uA789${pw}@${AFTER}`],
  ['etcd://ops；…@ (fullwidth semicolon)', (pw) => `etcd://ops\uFF1B${pw}@${AFTER}`],
  ['etcd://ops:…＠host (fullwidth @ U+FF20)', (pw) => `etcd://ops:${pw}\uFF20${AFTER}`],
  ['etcd://ops:…﹫host (small @ U+FE6B)', (pw) => `etcd://ops:${pw}\uFE6B${AFTER}`],
  ['etcd://ops;…＠host (both)', (pw) => `etcd://ops;${pw}\uFF20${AFTER}`],
  ['etcd：//ops:…@ (fullwidth colon after the scheme)', (pw) => `etcd\uFF1A//ops:${pw}@${AFTER}`],
  ['etcd:／／ops:…@ (fullwidth slashes)', (pw) => `etcd:\uFF0F\uFF0Fops:${pw}@${AFTER}`],
  ['etcd∕∕ops:…@ (division slashes, no colon)', (pw) => `etcd\u2215\u2215ops:${pw}@${AFTER}`],
  [
    'ｅｔｃｄ://ops:…@ (fullwidth letters)',
    (pw) => `\uFF45\uFF54\uFF43\uFF44://ops:${pw}@${AFTER}`,
  ],
  ['etcd/ops:…@ (one slash, no colon: review D3)', (pw) => `etcd/ops:${pw}@${AFTER}`],
  ['etcd/ops;…@', (pw) => `etcd/ops;${pw}@${AFTER}`],
  ['etcd\\ops:…@ (one backslash)', (pw) => `etcd\\ops:${pw}@${AFTER}`],
  ['etcd;//ops:…@ (";" after the scheme)', (pw) => `etcd;//ops:${pw}@${AFTER}`],
  ['etcd:/ops;…@', (pw) => `etcd:/ops;${pw}@${AFTER}`],
  ['dir/ops:…@ (a relative path shape)', (pw) => `dir/ops:${pw}@${AFTER}`],
  ['dir/ops：…@ (a relative path shape, fullwidth)', (pw) => `dir/ops\uFF1A${pw}@${AFTER}`],
  ['ops;…@ (no scheme)', (pw) => `ops;${pw}@${AFTER}`],
  ['ops,…@ (no scheme)', (pw) => `ops,${pw}@${AFTER}`],
  ['ops：…@ (no scheme, fullwidth)', (pw) => `ops\uFF1A${pw}@${AFTER}`],
  ['ops%3B…%40host (no scheme, encoded)', (pw) => `ops%3B${pw}%40${AFTER}`],
];

/**
 * A userinfo with no password separator: the whole of it (here the password typed as, or into,
 * the user name) is secret. On `etcd://` a password holding ':' would be a real `user:password`
 * (the CLI would connect), so those rows use the passwords without one.
 */
const NO_SEPARATOR_SPELLINGS: readonly [name: string, url: (pw: string) => string][] = [
  ['etcd://…@ (user-only userinfo)', (pw) => `etcd://${pw}@${AFTER}`],
  ['etcd://ops…@ (no separator)', (pw) => `etcd://ops${pw}@${AFTER}`],
  ['etcds://ops…@ (no separator)', (pw) => `etcds://ops${pw}@${AFTER}`],
  ['etcd:/ops…@ (no separator, a slash missing)', (pw) => `etcd:/ops${pw}@${AFTER}`],
  ['etcd:ops…@ (no separator, no slash)', (pw) => `etcd:ops${pw}@${AFTER}`],
  ['etcd/ops…@ (no separator, no colon)', (pw) => `etcd/ops${pw}@${AFTER}`],
  ['etcd//ops…@ (no separator, no colon)', (pw) => `etcd//ops${pw}@${AFTER}`],
  ['ETCD:\\\\ops…@ (no separator, backslashes)', (pw) => `ETCD:\\\\ops${pw}@${AFTER}`],
  ['http://ops…@ (no separator, another scheme)', (pw) => `http://ops${pw}@${AFTER}`],
];
const passwordsFor = (url: (pw: string) => string): readonly string[] =>
  url('x').startsWith('etcd://') || url('x').startsWith('etcds://')
    ? PASSWORDS.filter((p) => !p.includes(':'))
    : PASSWORDS;

/**
 * Spellings the CLI refused before review 134 with their userinfo shown as `***@` (an ASCII
 * `etcd:`/`http:` scheme misspelt): their rows are `(control)`. Every other row failed.
 */
const REFUSED_BEFORE_134 = new Set([
  'etcd:／／ops:…@ (fullwidth slashes)',
  'etcd:/ops;…@',
  'etcd:/ops…@ (no separator, a slash missing)',
  'etcd:ops…@ (no separator, no slash)',
  'ETCD:\\\\ops…@ (no separator, backslashes)',
  'http://ops…@ (no separator, another scheme)',
]);

const rows134 = [...SEPARATOR_SPELLINGS, ...NO_SEPARATOR_SPELLINGS].flatMap(([spelling, url]) =>
  COMMANDS.map(
    ([command, args, json]) =>
      [
        `${REFUSED_BEFORE_134.has(spelling) ? '(control) ' : ''}${spelling}`,
        command,
        url,
        args,
        json,
      ] as const,
  ),
);

describe('MISC-03 review 134: the whole userinfo, in any spelling, is never shown', () => {
  it.each(rows134)('MISC-03 %s as %s', async (_s, _c, url, args, json) => {
    const before = readdirSync(dir).sort();
    for (const pw of passwordsFor(url)) {
      for (const mode of json ? [[], ['--json']] : [[]]) {
        const r = await freshCli([...args(url(pw)), ...mode]);
        const what = `${JSON.stringify(url(pw))} ${mode.join(' ')}:\nstdout: ${r.out}\nstderr: ${r.err}`;
        expect(r.out, what).not.toContain(MARK);
        expect(r.err, what).not.toContain(MARK);
        expect(r.code, what).toBe(2);
        expect(r.err, what).toMatch(LOCATION_ERROR_134);
        expect(r.err, what).toContain('***@');
        if (mode.length > 0)
          expect(JSON.parse(r.out), what).toMatchObject({
            ok: false,
            error: { code: 'usage', message: expect.stringMatching(LOCATION_ERROR_134) },
          });
      }
    }
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(target, 'utf8')).toBe(RULES);
  });
});

describe('MISC-03 review 134: a command line echoing such a URL never shows its userinfo', () => {
  const MISTAKES: readonly [string, (url: string) => string[]][] = [
    ['the URL given as the command', (url) => [url, 'validate']],
    ['the URL as the --now instant', (url) => ['diff', rules, rules, '--now', url]],
    ['the URL as a --ttl', (url) => ['sign', 'beta', '--key-file', keyFile, '--ttl', url]],
    ['the URL as --method', (url) => ['explain', rules, '--method', url]],
  ];
  // Before review 134 an echo was scrubbed when a scheme led the URL (the scheme's ':' was taken
  // for the userinfo's, so all after it was registered): those rows are `(control)`. These leaked.
  const LEAKED_BEFORE = new Set([
    'etcd://ops:…＠host (fullwidth @ U+FF20)',
    'etcd://ops:…﹫host (small @ U+FE6B)',
    'etcd://ops;…＠host (both)',
    'dir/ops：…@ (a relative path shape, fullwidth)',
    'ops;…@ (no scheme)',
    'ops,…@ (no scheme)',
    'ops：…@ (no scheme, fullwidth)',
    'ops%3B…%40host (no scheme, encoded)',
    'etcd/ops…@ (no separator, no colon)',
  ]);
  const mistakes = [...SEPARATOR_SPELLINGS, ...NO_SEPARATOR_SPELLINGS].flatMap(([spelling, url]) =>
    MISTAKES.map(
      ([how, args]) =>
        [`${LEAKED_BEFORE.has(spelling) ? '' : '(control) '}${spelling}`, how, url, args] as const,
    ),
  );
  it.each(mistakes)('MISC-03 %s, %s', async (_s, _h, url, args) => {
    for (const pw of PASSWORDS)
      for (const mode of [[], ['--json']]) {
        const r = await freshCli([...args(url(pw)), ...mode]);
        const what = `${JSON.stringify(url(pw))}:\nstdout: ${r.out}\nstderr: ${r.err}`;
        expect(r.out, what).not.toContain(MARK);
        expect(r.err, what).not.toContain(MARK);
        expect(r.code).toBe(2);
      }
  });
});

describe('MISC-03 review 134 (control): a file named so, written ./name or by its path, is a file', () => {
  it.each([
    ['(control) ./ before a name with ";" and "@"', './ops;pw@v2.json'],
    ['(control) ./ before a name with a fullwidth colon', './ops\uFF1Apw@v2.json'],
    ['(control) ../ before a path-shaped name', '../DIR/etcd/ops:pw@v2.json'],
    ['(control) an absolute path with "," and "@"', 'ABS/ops,pw@v2.json'],
    ['(control) a name with a look-alike colon and no "@"', 'rules\uFF1Av2.json'],
  ])('%s', async (_n, name) => {
    const base = dir.split('/').pop() as string;
    const path = name.replace('ABS', dir).replace('DIR', base);
    const file = path.startsWith('/') ? path : join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, RULES);
    try {
      const r = await runInProcess(['validate', path, '--json']);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ ok: true, location: path });
    } finally {
      rmSync(file);
      rmSync(join(dir, 'etcd'), { recursive: true, force: true });
    }
  });
});

describe('MISC-03 review 134: redact scrubs a userinfo never registered, in any spelling', () => {
  // Never registered (no CLI run saw them): only the URL pattern can scrub them.
  it.each([
    ['etcd://ops;… (";" for ":")', (pw: string) => `etcd://ops;${pw}@db:2379/k`],
    ['etcd://ops,…', (pw: string) => `etcd://ops,${pw}@db:2379/k`],
    ['etcd://ops%3B…', (pw: string) => `etcd://ops%3B${pw}@db:2379/k`],
    ['etcd://ops：… (fullwidth colon)', (pw: string) => `etcd://ops\uFF1A${pw}@db:2379/k`],
    ['etcd://ops:…＠ (fullwidth @)', (pw: string) => `etcd://ops:${pw}\uFF20db:2379/k`],
    ['etcd：//ops:… (fullwidth scheme colon)', (pw: string) => `etcd\uFF1A//ops:${pw}@db/k`],
    [
      '(control) etcd:／／ops:… (fullwidth slashes)',
      (pw: string) => `etcd:\uFF0F\uFF0Fops:${pw}@db/k`,
    ],
    ['(control) ETCD:%2F%2Fops:… (slashes encoded)', (pw: string) => `ETCD:%2F%2Fops:${pw}@db/k`],
  ])('MISC-03 %s', (_n, url) => {
    for (const pw of ['Wv4x', 'Wv4x:y', 'Wv4x%40y', 'a"Wv4x\\b'])
      expect(redact(`cannot read ${url(pw)}`)).not.toContain('Wv4x');
  });
});
