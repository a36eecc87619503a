import { spawn, spawnSync } from 'node:child_process';
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
  type EtcdProcess,
} from '../../etcd/test/harness.js';
import { runCli, type CliIo } from '../src/index.js';
import { BIN } from './helpers.js';

/**
 * I1 for the CLI's own output (review 75 D3): text from input — a config's rule ids, header,
 * cookie and query names, version labels and values, a file name, an etcd key — is escaped where
 * a line is built, so it can neither forge a line (`x-a\nok rules.json: …` printed a fake `ok`
 * line) nor act on the terminal (`ESC[8m` hid the rest, a right-to-left override reorders what is
 * shown). Only graylane's own line breaks and colour codes reach the terminal raw. Every command
 * that prints input-derived text × every place a string comes from × hostile strings, with colour
 * on and off; `--json` stays one valid JSON document holding the text as it is.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const GOOD = join(EXAMPLES, 'rules.json');
const SCHEDULED = join(EXAMPLES, 'ramp-schedule.json');
const KEY = join(EXAMPLES, 'qa.key');
const BROKEN = readFileSync(join(EXAMPLES, 'broken.json'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-escape-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The review's string: a fake `ok` line, then "conceal" for the rest of the terminal. */
const FORGED_OK =
  '\nok rules.json: versions stable, beta (default stable), 3 active rules, hash 9220769c4c47b56a\n\u001b[8m';

/** Each ends in (or holds) FORGED, so a line it forged starts with FORGED. */
const HOSTILE: readonly [string, string][] = [
  ['a forged ok line and ESC[8m (review 75 D3)', `${FORGED_OK}FORGED`],
  ['a line feed', '\nFORGED'],
  ['a carriage return', '\rFORGED'],
  ['CR LF', '\r\nFORGED'],
  ['ESC[8m (conceal)', '\u001b[8mFORGED'],
  ['ESC[31m (a colour graylane itself writes)', '\u001b[31mFORGED'],
  ['ESC[2J (clear the screen)', '\u001b[2JFORGED'],
  ['OSC 0 … BEL (set the title)', '\u001b]0;FORGED\u0007'],
  ['an 8-bit CSI (C1 U+009B)', '\u009b8mFORGED'],
  ['NEL (U+0085)', '\u0085FORGED'],
  ['DEL, backspace and tab', '\u007f\b\tFORGED'],
  ['LS (U+2028)', '\u2028FORGED'],
  ['PS (U+2029)', '\u2029FORGED'],
  ['RLO (U+202E, Trojan Source)', '\u202eFORGED'],
  ['RLI … PDI (U+2067, U+2069)', '\u2067FORGED\u2069'],
  ['ALM and LRM (U+061C, U+200E)', '\u061c\u200eFORGED'],
];

/** What may never reach the terminal raw: the set `text.ts` escapes, but the line feed. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
/** The colour sequences graylane's `paint` writes, and only those. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OWN_SGR = /\u001b\[(?:0|1|2|31|32|33)m/g;

/** `text` shows input text only escaped: no raw control, no line of its own. */
function expectSafe(text: string, color: boolean, what: string): void {
  expect(text.replace(color ? OWN_SGR : /(?!)/g, ''), what).not.toMatch(RAW);
  // A line the input started, or input right after a raw colour code (colour on: `OWN_SGR`
  // would hide an `ESC[31m` from the input above).
  expect(text, what).not.toMatch(/^(?:FORGED|ok rules\.json)/m);
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  expect(text, what).not.toMatch(/\u001b\[[0-9;]*m(?:FORGED|ok rules)/);
}

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** One in-process run with colour on or off; stdin honours the cap as `process.stdin` does. */
async function cli(args: readonly string[], color: boolean, stdin = ''): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const bytes = Buffer.from(stdin);
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color,
    stdin: (max) => Promise.resolve(bytes.length > max ? undefined : bytes),
    confirm: () => Promise.resolve(undefined),
  };
  const code = await runCli(args, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const config = (rules: unknown[], versions = ['stable', 'beta']): string =>
  JSON.stringify({ versions, default: 'stable', rules });
const matcher = (kind: string, name: string, value = '1'): string =>
  config([{ id: 'r', match: { [kind]: { [name]: { equals: value } } }, version: 'beta' }]);

let n = 0;
const file = (text: string, name = `c${++n}.json`): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/**
 * Where a string comes from: the location of a config holding it (or named by it). `echoed`: the
 * text output of `validate` must still show it (escaped, never dropped); `inJson`: `validate
 * --json` holds it exactly, unescaped (JSON escapes it).
 */
interface Place {
  readonly name: string;
  location(h: string): string;
  readonly echoed: boolean;
  readonly inJson: boolean;
  readonly etcd?: boolean;
}

const CONFIG_PLACES: readonly Place[] = [
  {
    name: 'a rule id',
    location: (h) => file(config([{ id: `r${h}`, version: 'beta' }])),
    echoed: false,
    inJson: false,
  },
  {
    name: 'a header name',
    location: (h) => file(matcher('header', `x-a${h}`)),
    echoed: true,
    inJson: true,
  },
  {
    name: 'a cookie name',
    location: (h) => file(matcher('cookie', `c${h}`)),
    echoed: true,
    inJson: true,
  },
  {
    name: 'a query name',
    location: (h) => file(matcher('query', `q${h}`)),
    echoed: true,
    inJson: true,
  },
  {
    name: 'a version label',
    location: (h) =>
      file(config([{ id: 'r', version: `beta${h}` }], ['stable', 'beta', `beta${h}`])),
    echoed: true,
    inJson: false,
  },
  {
    name: 'a matcher value',
    location: (h) => file(matcher('header', 'x-a', `v${h}`)),
    echoed: false,
    inJson: false,
  },
  {
    name: 'a file name (a valid config)',
    location: (h) => file(readFileSync(GOOD, 'utf8'), `rules${h}.json`),
    echoed: true,
    inJson: true,
  },
  {
    name: 'a file name (an invalid config)',
    location: (h) => file(BROKEN, `broken${h}.json`),
    echoed: true,
    inJson: true,
  },
];

/** Every command that prints text derived from a config location `l`. */
const COMMANDS: readonly [string, (l: string, target: string) => string[]][] = [
  ['validate', (l) => ['validate', l]],
  ['validate --json', (l) => ['validate', l, '--json']],
  ['explain', (l) => ['explain', l, '--header', 'X-A: 1', '--cookie', 'c=1', '--query', 'q=1']],
  ['explain --json', (l) => ['explain', l, '--json']],
  ['diff GOOD L', (l) => ['diff', GOOD, l]],
  ['diff L GOOD --json', (l) => ['diff', l, GOOD, '--json']],
  ['push L TARGET --dry-run', (l, t) => ['push', l, t, '--dry-run']],
  ['push L TARGET --dry-run --json', (l, t) => ['push', l, t, '--dry-run', '--json']],
  ['push GOOD L --dry-run (L the target)', (l) => ['push', GOOD, l, '--dry-run']],
  ['bucket --config L', (l) => ['bucket', 'canary', 'u-1', '--config', l]],
  ['pause L --rule r', (l) => ['pause', l, '--rule', 'r']],
  ['render nginx L', (l) => ['render', 'nginx', l]],
  ['sign --config L', (l) => ['sign', 'beta', '--key-file', KEY, '--config', l]],
];

/** Runs `args` with colour off and on, and holds each run to {@link expectSafe}. */
async function expectEscaped(args: readonly string[], place: Place, h: string): Promise<void> {
  for (const color of [false, true]) {
    const r = await cli(args, color);
    const what = `${args.join(' ')} (colour ${color ? 'on' : 'off'})`;
    expectSafe(r.out, color, `${what}: stdout`);
    expectSafe(r.err, color, `${what}: stderr`);
    if (args.includes('--json')) {
      // One JSON document on stdout, whatever the outcome.
      const doc = JSON.parse(r.out) as unknown;
      // The text as it is, unescaped: JSON escapes it.
      if (args[0] === 'validate' && place.inJson)
        expect(JSON.stringify(doc)).toContain(JSON.stringify(h).slice(1, -1));
    } else if (args[0] === 'validate' && place.echoed) {
      // Still shown, escaped: never dropped.
      expect(`${r.out}\n${r.err}`, what).toContain('FORGED');
    }
  }
}

describe('I1 text from a config or its location is escaped in every line a command prints', () => {
  const target = file(readFileSync(GOOD, 'utf8'), 'target.json');
  const rows = CONFIG_PLACES.flatMap((place) =>
    HOSTILE.flatMap(([hName, h]) =>
      COMMANDS.map(([cName, args]) => [cName, place.name, hName, place, h, args] as const),
    ),
  );
  it.each(rows)('I1 %s × %s × %s', async (_c, _p, _h, place, h, args) => {
    await expectEscaped(args(place.location(h), target), place, h);
  });
});

/** A push target the argument rows never write (a wrong --expect-revision is a conflict). */
const ARG_TARGET = file(readFileSync(GOOD, 'utf8'), 'arg-target.json');

/** Arguments a command echoes back: flags, labels, instants, a command name. */
const ARGUMENTS: readonly [string, (h: string) => string[]][] = [
  ['an unknown command', (h) => [`valid${h}`]],
  ['an unknown option', (h) => ['validate', GOOD, `--x${h}`]],
  ['bucket SALT SUBJECT', (h) => ['bucket', `s${h}`, `u${h}`]],
  ['bucket SALT SUBJECT --json', (h) => ['bucket', `s${h}`, `u${h}`, '--json']],
  ['pause --rule', (h) => ['pause', SCHEDULED, '--rule', `ramp${h}`]],
  ['render --upstream VERSION=…', (h) => ['render', 'nginx', GOOD, '--upstream', `b${h}=h:1`]],
  ['render --listen', (h) => ['render', 'nginx', GOOD, '--listen', `h${h}`]],
  ['sign VERSION --config', (h) => ['sign', `beta${h}`, '--key-file', KEY, '--config', GOOD]],
  ['explain --now', (h) => ['explain', GOOD, '--now', `2026${h}`]],
  ['explain --header NAME', (h) => ['explain', GOOD, '--header', `X-A${h}: 1`]],
  ['explain --path --json', (h) => ['explain', GOOD, '--path', `/a${h}`, '--json']],
  ['explain --method', (h) => ['explain', GOOD, '--method', `GET${h}`]],
  ['diff --at', (h) => ['diff', GOOD, GOOD, '--at', `x${h}`]],
  ['push --now --json', (h) => ['push', GOOD, GOOD, '--now', `x${h}`, '--json']],
  [
    'push --expect-revision',
    (h) => ['push', join(EXAMPLES, 'ramp-20.json'), ARG_TARGET, '--expect-revision', `x${h}`],
  ],
  [
    'push --expect-revision --json',
    (h) => ['push', join(EXAMPLES, 'ramp-20.json'), ARG_TARGET, '--expect-revision', h, '--json'],
  ],
];
const ARGUMENT_PLACE: Place = {
  name: 'an argument',
  location: () => '',
  echoed: false,
  inJson: false,
};

describe('I1 an argument a command echoes back is escaped', () => {
  const rows = ARGUMENTS.flatMap(([aName, args]) =>
    HOSTILE.map(([hName, h]) => [aName, hName, args(h), h] as const),
  );
  it.each(rows)('I1 %s × %s', async (_a, _h, args, h) => {
    await expectEscaped(args, ARGUMENT_PLACE, h);
  });
});

const binary = findEtcdBinary();
if (!binary) console.warn(ETCD_SKIP_MESSAGE);

describe.skipIf(!binary)('I1 an etcd key location is escaped, and named as written', () => {
  let etcd: EtcdProcess;
  let admin: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd(binary as string);
    admin = new Etcd3({ hosts: etcd.endpoint });
  }, 60_000);
  afterAll(async () => {
    admin?.close();
    await etcd?.dispose();
  });
  const url = (key: string): string => `etcd://127.0.0.1:${etcd.port}/${key}`;
  let k = 0;
  const PLACES: readonly Place[] = [
    {
      name: 'an etcd key as typed (no such key)',
      location: (h) => url(`k${++k}${h}`),
      echoed: true,
      inJson: false,
      etcd: true,
    },
    {
      name: 'an etcd key percent-encoded (no such key)',
      location: (h) => url(`k${++k}${encodeURIComponent(h)}`),
      echoed: false,
      inJson: false,
      etcd: true,
    },
    {
      name: 'an etcd key as typed (holding a config)',
      location: (h) => url(`e${h}`),
      echoed: true,
      inJson: true,
      etcd: true,
    },
  ];
  // The commands that read a config once (each etcd read is a client: a few, not all).
  const ETCD_COMMANDS = COMMANDS.filter(([c]) =>
    [
      'validate',
      'validate --json',
      'explain',
      'diff GOOD L',
      'push GOOD L --dry-run (L the target)',
    ].includes(c),
  );
  const rows = PLACES.flatMap((place) =>
    HOSTILE.flatMap(([hName, h]) =>
      ETCD_COMMANDS.map(([cName, args]) => [cName, place.name, hName, place, h, args] as const),
    ),
  );
  it.each(rows)('I1 %s × %s × %s', async (_c, pName, _h, place, h, args) => {
    if (pName.includes('holding')) await admin.put(`e${h}`).value(readFileSync(GOOD, 'utf8'));
    await expectEscaped(args(place.location(h), GOOD), place, h);
  });

  it.each([
    ['a line feed, %0A', 'a%0Ab', 'a\nb'],
    ['a space, %20', 'a%20b', 'a b'],
    ['an escaped letter, %61', 'x%61y', 'xay'],
    ['RLO, %E2%80%AE', 'a%E2%80%AEb', 'a\u202eb'],
  ])('I1 a missing key with %s: every message names it as written', async (_n, raw, decoded) => {
    const r = await cli(['validate', url(`missing/${raw}`)], false);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `error: etcd key missing/${raw} does not exist on etcd://127.0.0.1:${etcd.port}/missing/${raw}`,
    );
    expect(r.err).not.toContain(decoded);
  });
});

/** `script` gives the CLI a real terminal: colour on, as an operator sees it. */
const SCRIPT = spawnSync('script', ['--version']).status === 0;

/** Runs the built CLI under a pseudo-terminal (util-linux `script`), bounded. */
function underPty(args: readonly string[]): Promise<{ code: number; text: string }> {
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
    delete env['NO_COLOR'];
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The terminal turns each line feed into CR LF; any other CR came from the CLI.
      resolve({ code: code ?? 99, text: text.replace(/\r\n/g, '\n') });
    });
  });
}

describe.skipIf(!SCRIPT)('I1 on a real terminal (a pty): colour on, the review repro', () => {
  const forge = file(matcher('header', `x-a${FORGED_OK}`), 'forge.json');
  const cookie = file(matcher('cookie', `c${FORGED_OK}`), 'forge-cookie.json');
  const named = file(readFileSync(GOOD, 'utf8'), `rules${FORGED_OK}.json`);
  it.each([
    ['validate forge.json (review 75 D3)', ['validate', forge], 1, true],
    ['explain, a cookie name', ['explain', cookie, '--cookie', 'c=1'], 0, true],
    ['diff GOOD forge.json', ['diff', GOOD, forge], 1, true],
    ['validate, a file name', ['validate', named], 0, true],
    [
      'push, a file name as the target (its lines have no colour)',
      ['push', join(EXAMPLES, 'ramp-20.json'), named, '--dry-run'],
      0,
      false,
    ],
  ] as const)('I1 %s', async (_n, args, code, painted) => {
    const r = await underPty(args);
    expect(r.code).toBe(code);
    // Colour is on (graylane's own codes are there) and nothing else acts on the terminal.
    if (painted) expect(r.text).toMatch(OWN_SGR);
    expectSafe(r.text, true, r.text);
    expect(r.text).toContain('\\u000aok rules.json');
  });
});
