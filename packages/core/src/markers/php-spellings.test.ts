import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { othersRead, phpRoot } from '../../test/spelling-ref.js';
import { mayHoldKey, spellsKey } from './key-spelling.js';
import { removeQueryParam } from './query.js';

/**
 * GW-01/02 (review 147 D1): an edge or signed gateway in front of a PHP app left `?+gray=beta`,
 * `?%20gray=beta`, `?a=1&++gray=beta` and `?gray%00x=beta` in place, and PHP's `$_GET['gray']`
 * read `beta` there: `php_register_variable_ex` skips leading spaces in a name and the name is a
 * C string, cut at a NUL. The oracle is php-cli itself: `parse_str` runs the same
 * `php_default_treat_data` as `$_GET`. Over thousands of generated keys, every key PHP files
 * under `gray` (as written, or in another case: `array_change_key_case($_GET)`) is removed, and
 * every key removed is read as `gray` by PHP or by one of the other parsers (qs, Rack 2, the flat
 * ones: test/spelling-ref.ts, checked against the real qs in packages/node/test); the rest stays
 * byte for byte. CI installs php-cli (Debian/Ubuntu package `php-cli`).
 */
const probe = spawnSync('php', ['-n', '-r', 'echo PHP_VERSION;'], { encoding: 'utf8' });
const PHP = probe.status === 0 ? probe.stdout.trim() : undefined;
const TITLE = PHP
  ? `GW-02 PHP ${PHP} agreement`
  : 'GW-02 PHP agreement (skipped: no `php` on PATH; install the php-cli package)';

/** The top-level keys PHP files `${key}=beta` under, each as bytes read as Latin-1. */
function phpKeys(keys: readonly string[]): string[][] {
  const script = [
    '$out = [];',
    'foreach (json_decode(stream_get_contents(STDIN), true) as $k) {',
    '  $o = []; parse_str($k . "=beta", $o);',
    '  $out[] = array_map(fn ($x) => bin2hex((string) $x), array_keys($o));',
    '}',
    'echo json_encode($out);',
  ].join('\n');
  const run = spawnSync('php', ['-n', '-d', 'arg_separator.input=&', '-r', script], {
    input: JSON.stringify(keys),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`php failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as string[][]).map((row) =>
    row.map((hex) => Buffer.from(hex, 'hex').toString('latin1')),
  );
}

/** `+` as a space, every `%XX` its byte (Latin-1), as `php_url_decode` reads a key. */
const bytesOf = (raw: string): string =>
  raw
    .replace(/\+/g, ' ')
    .replace(/%([\da-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

const cross = (...lists: readonly (readonly string[])[]): string[] =>
  lists.reduce<string[]>((acc, list) => acc.flatMap((a) => list.map((b) => a + b)), ['']);

const PREFIXES = [
  ...['', '+', '++', '%20', '+%20', '%20%20', '%09', '%0A', '%0B', '%0C', '%0D', '%A0'],
  ...['%C2%A0', '%E3%80%80', '%EF%BB%BF', '%2B', '%2520', '%00', '+%00', '.', '+.', '[', '+['],
  ...[']', '+]', '%5B', '%5D', '[]', '][', '_', 'x', 'a.', 'a['],
];
const SUFFIXES = [
  ...['', '%00', '%00x', '%00[x]', '%00%5D', '[', '[]', '[x]', '[x', '[x%00]', '[%00]', ']'],
  ...[']x', '.', '.x', '..x', '+', '%20', '_', 'x', '%5B%5D', '%5B', '[[x]', '][', '[x][y]'],
  ...['[x[y', '%5Dx', '%09', ';y', '[+x]'],
];
const TABLES: readonly (readonly [name: string, cores: readonly string[]])[] = [
  [
    'gray',
    [
      ...['gray', 'GRAY', 'Gray', '%67ray', 'g%52aY', 'gr%61y', 'gra', 'grayx', 'grayscale'],
      ...['g+ray', 'gr.y', 'gr_y', 'gr%00ay', 'xgray', 'gr[ay'],
    ],
  ],
  // PHP reads ` `, `.` and an unclosed `[` before the name's end as `_`.
  [
    'a_b',
    [
      ...['a_b', 'a.b', 'a+b', 'a%20b', 'a[b', 'a%5Bb', 'A.B', 'a%2Eb', 'a..b', 'a_b_', 'ab'],
      ...['a-b', 'a[b]', 'a%00b', 'a[b[', 'a%5F%62'],
    ],
  ],
];

describe.skipIf(PHP === undefined)(TITLE, () => {
  for (const [name, cores] of TABLES) {
    const keys = [...new Set(cross(PREFIXES, cores, SUFFIXES))];
    // One php process per table: the keys go in as JSON, the keys PHP filed come back.
    const filed = new Map<string, string[]>();

    it(`GW-02 name ${name}: every key PHP reads as ${name} is removed, and only those some parser reads (${keys.length} keys)`, () => {
      const got = phpKeys(keys);
      keys.forEach((k, i) => filed.set(k, got[i] as string[]));
      const under: string[] = [];
      const over: string[] = [];
      const probeMiss: string[] = [];
      let read = 0;
      for (const key of keys) {
        const php = filed.get(key) as string[];
        const phpReads = php.some((k) => k.toLowerCase() === name);
        const url = `/p?a=1&${key}=beta&b=2`;
        const out = removeQueryParam(url, name);
        const removed = out !== url;
        if (phpReads) {
          read++;
          if (!removed || !spellsKey(key, 0, key.length, name, true)) under.push(key);
          if (!mayHoldKey(`a=1&${key}=beta&b=2`, name)) probeMiss.push(key);
        } else if (removed && !othersRead(key, name)) over.push(key);
        // A key PHP reads goes whole; a `;` inside one is a parameter of its own to a reader
        // that splits there, judged alone (D3).
        if (removed && !key.includes(';')) expect(out, key).toBe('/p?a=1&b=2');
        if (!removed) expect(out, key).toBe(url);
      }
      expect({ under, over, probeMiss }).toEqual({ under: [], over: [], probeMiss: [] });
      // The table is the premise: thousands of keys, hundreds of them PHP spellings.
      expect(keys.length).toBeGreaterThan(name === 'gray' ? 10_000 : 5_000);
      expect(read).toBeGreaterThan(100);
    });

    it(`(control) name ${name}: the reference PHP rule (test/spelling-ref.ts) files every key where php-cli does`, () => {
      if (filed.size === 0) {
        const got = phpKeys(keys);
        keys.forEach((k, i) => filed.set(k, got[i] as string[]));
      }
      const differs = keys.filter((key) => {
        const php = filed.get(key) as string[];
        const model = phpRoot(bytesOf(key));
        return model === undefined ? php.length !== 0 : php.length !== 1 || php[0] !== model;
      });
      expect(differs).toEqual([]);
    });
  }

  it.each([
    ['GW-02 ?+gray=beta', ''],
    ['GW-02 ?%20gray=beta', ''],
    ['GW-02 ?gray%00x=beta', ''],
    ['GW-02 ?a=1&++gray=beta', '?a=1'],
    ['GW-02 ?+GRAY=beta&a=1', '?a=1'],
    ['GW-02 ?%20%20gray[x]=beta&a=1', '?a=1'],
    ['GW-02 ?a=1&gray%00[=beta', '?a=1'],
    [
      '(control) ?a=1&grayscale=1&a.gray=2&xgray=3&gray_=4&gray+=5&%09gray=6&%00gray=7&+[gray]=8&+gray[=9',
      null,
    ],
  ])('%s: PHP finds no `gray` in what is left (%j)', (row, left) => {
    const query = row.replace(/^\(control\) |^GW-02 /, '');
    const out = removeQueryParam(`/index.php${query}`, 'gray');
    expect(out).toBe(left === null ? `/index.php${query}` : `/index.php${left}`);
    const rest = out.includes('?') ? out.slice(out.indexOf('?') + 1) : '';
    const run = spawnSync(
      'php',
      ['-n', '-r', 'parse_str($argv[1], $o); echo json_encode(array_keys($o));', rest],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(run.stdout) as string[]).not.toContain('gray');
  });
});
