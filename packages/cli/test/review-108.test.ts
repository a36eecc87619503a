import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runInProcess } from './helpers.js';

/**
 * Review 108 (D4–D6). D4: `explain` is held to a real `@graylane/node` server on 127.0.0.1 for
 * the same bytes on the wire (the query string and header lines sent verbatim); D5: `--json`
 * prints one JSON document on stdout for every command and failure; D6: `push` refuses to replace
 * a target that is not a graylane config.
 */
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const RULES_PATH = join(EXAMPLES, 'rules.json');
const RULES = readFileSync(RULES_PATH, 'utf8');
const BROKEN_PATH = join(EXAMPLES, 'broken.json');
const NOW = '2026-12-24T10:00:00Z';

let server: http.Server;
let port = 0;
let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-review-108-'));
  const gray = createGraylane({
    config: RULES,
    trust: 'open',
    sticky: false,
    debugHeader: true,
    now: () => Date.parse(NOW),
  });
  server = http.createServer((req, res) => gray.handle(req, res, () => res.end(getGrayVersion())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** One request: header lines (sent as given, in order), a raw query string, a path. */
interface Wire {
  readonly lines?: readonly [string, string][];
  readonly query?: readonly string[];
  readonly path?: string;
  /** `--cookie` flags for explain; sent to the server as one `Cookie` line after `lines`. */
  readonly cookies?: readonly string[];
}

/** The server's version and reason, from its `X-Gray-Decision` header. */
function serverSays(w: Wire): Promise<{ version: string; reason: string }> {
  const path = w.path ?? '/';
  const search = (w.query ?? []).join('&');
  const lines = [...(w.lines ?? [])];
  if (w.cookies?.length) lines.push(['Cookie', w.cookies.join('; ')]);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      // Verbatim: no URL class re-encodes the query the way a browser would not.
      path: search === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${search}`,
      // Raw lines, repeats kept (Node sends them as given); HTTP/1.1 needs a Host line.
      headers: [['Host', `127.0.0.1:${port}`], ...lines].flat(),
    });
    req.on('response', (res) => {
      res.resume();
      const debug = String(res.headers['x-gray-decision'] ?? '');
      resolve({
        version: /version=([^;]+)/.exec(debug)?.[1] ?? '?',
        reason: /reason=([^;]+)/.exec(debug)?.[1] ?? '?',
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface Said {
  version: string;
  reason: string;
  markers: string[];
}

async function explainSays(w: Wire): Promise<Said> {
  const args = ['explain', RULES_PATH, '--json', '--now', NOW];
  for (const [k, v] of w.lines ?? []) args.push('--header', `${k}: ${v}`);
  for (const c of w.cookies ?? []) args.push('--cookie', c);
  for (const q of w.query ?? []) args.push('--query', q);
  if (w.path) args.push('--path', w.path);
  const r = await runInProcess(args);
  expect(r.code, r.err).toBe(0);
  const doc = JSON.parse(r.out) as {
    decision: { version: string; reason: string };
    markers: string[];
  };
  return { version: doc.decision.version, reason: doc.decision.reason, markers: doc.markers };
}

const MARKER = new Set(['header', 'cookie', 'query', 'baggage']);

const D4_ROWS: readonly [string, Wire][] = [
  // The query carrier: pairs as they appear on the request line.
  ['query gray=be%74a (an escaped letter)', { query: ['gray=be%74a'] }],
  ['query gray=%62%65%74%61 (all escaped)', { query: ['gray=%62%65%74%61'] }],
  ['query g%72ay=beta (an escaped key)', { query: ['g%72ay=beta'] }],
  ['(control) query gray=be+ta (+ is a space)', { query: ['gray=be+ta'] }],
  ['(control) query gray=be%2574a (an escaped %)', { query: ['gray=be%2574a'] }],
  ['(control) query gray=%ZZ (a bad escape)', { query: ['gray=%ZZ'] }],
  ['(control) query gray=beta twice (the same value)', { query: ['gray=beta', 'gray=beta'] }],
  ['(control) query gray=beta and gray=be%74a', { query: ['gray=beta', 'gray=be%74a'] }],
  ['(control) query Gray=beta (another key)', { query: ['Gray=beta'] }],
  ['(control) query gray%5B%5D=beta (gray[])', { query: ['gray%5B%5D=beta'] }],
  ['query in --path and --query', { path: '/x?a=1', query: ['gray=be%74a'] }],
  ['query gray=%20beta%20 (escaped blanks)', { query: ['gray=%20beta%20'] }],
  // The cookie carrier: --cookie and Cookie header lines.
  ['cookie gray=%62eta', { cookies: ['gray=%62eta'] }],
  ['cookie gray="beta" (quoted)', { cookies: ['gray="beta"'] }],
  ['Cookie header line gray=beta', { lines: [['Cookie', 'gray=beta']] }],
  ['Cookie header line gray=be%74a', { lines: [['Cookie', 'gray=be%74a']] }],
  [
    'two Cookie header lines, gray in the second',
    {
      lines: [
        ['Cookie', 'a=1'],
        ['Cookie', 'gray=beta'],
      ],
    },
  ],
  [
    'Cookie header line __Host-gray=stable and --cookie gray=beta',
    { lines: [['Cookie', '__Host-gray=stable']], cookies: ['gray=beta'] },
  ],
  ['__Host-gray=stable then gray=beta', { cookies: ['__Host-gray=stable', 'gray=beta'] }],
  ['__Host-gray=%62eta', { cookies: ['__Host-gray=%62eta'] }],
  ['gray=beta; gray=beta (repeated, same)', { cookies: ['gray=beta', 'gray=beta'] }],
  ['gray=beta; gray=%62eta (same decoded)', { cookies: ['gray=beta', 'gray=%62eta'] }],
  ['(control) GRAY=beta (cookie names are exact)', { cookies: ['GRAY=beta'] }],
  // The header carrier: repeated lines reach the server combined.
  [
    '(control) X-Gray-Id twice, the same value',
    {
      lines: [
        ['X-Gray-Id', 'beta'],
        ['X-Gray-Id', 'beta'],
      ],
    },
  ],
  [
    '(control) X-Gray-Id twice, different values',
    {
      lines: [
        ['X-Gray-Id', 'beta'],
        ['x-gray-id', 'stable'],
      ],
    },
  ],
  ['(control) X-Gray-Id "beta, stable"', { lines: [['X-Gray-Id', 'beta, stable']] }],
  ['(control) X-Gray-Id %62eta (headers are not decoded)', { lines: [['X-Gray-Id', '%62eta']] }],
  // Baggage.
  ['baggage gray=be%74a', { lines: [['baggage', 'gray=be%74a']] }],
  [
    'baggage on two lines',
    {
      lines: [
        ['baggage', 'a=1'],
        ['baggage', 'gray=beta'],
      ],
    },
  ],
  // The rules read the same request.
  [
    'a cookie rule on an escaped value (region=%73h)',
    { path: '/api/checkout/pay', cookies: ['region=%73h'] },
  ],
  [
    'a cookie rule through a Cookie header line',
    { path: '/api/checkout/pay', lines: [['Cookie', 'region=sh']] },
  ],
  [
    '(control) a header rule on a repeated header (qa, qa)',
    {
      lines: [
        ['X-User-Group', 'qa'],
        ['X-User-Group', 'qa'],
      ],
    },
  ],
  [
    '(control) the split cookie escaped (gray_uid=visitor%2D0007)',
    { cookies: ['gray_uid=visitor%2D0007'] },
  ],
  ['the split cookie on a Cookie line', { lines: [['Cookie', 'gray_uid=visitor-0007']] }],
];

describe('D4 explain reads the request the way a real @graylane/node server does', () => {
  it.each(D4_ROWS)(
    'D4 %s: same version and reason; the used marker printed as read',
    async (_n, w) => {
      const [server, explained] = await Promise.all([serverSays(w), explainSays(w)]);
      expect(server.version).not.toBe('?');
      expect({ version: explained.version, reason: explained.reason }).toEqual(server);
      if (MARKER.has(server.reason)) {
        const used = explained.markers.filter((m) => m.endsWith(': valid'));
        expect(used).toHaveLength(1);
        expect(used[0]).toMatch(
          // What was read, before trimming (`" beta "` is read, and used as `beta`).
          new RegExp(`^${server.reason} marker .*"\\s*${server.version}\\s*": valid$`),
        );
      }
    },
  );

  it.each([
    ['Cookie header line', ['--header', 'Cookie: gray=beta'], 'cookie marker gray "beta": valid'],
    [
      '__Host-gray before gray',
      ['--cookie', '__Host-gray=stable', '--cookie', 'gray=beta'],
      'cookie marker __Host-gray "stable": valid',
    ],
    ['an escaped query value', ['--query', 'gray=be%74a'], 'query marker "beta": valid'],
    [
      'an invalid __Host-gray',
      ['--cookie', '__Host-gray=nope', '--cookie', 'gray=beta'],
      'cookie marker __Host-gray "nope": ignored (unknown)',
    ],
  ])('D4 the note for %s says what the server read', async (_n, flags, line) => {
    const r = await runInProcess(['explain', RULES_PATH, ...flags]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toContain(line);
  });
});

/** Runs a command and checks stdout is exactly one JSON error document of the given kind. */
async function jsonFailure(args: readonly string[], stdin = ''): Promise<Record<string, unknown>> {
  const r = await runInProcess(args, { stdin });
  expect(r.code, r.err).not.toBe(0);
  let doc: {
    ok: unknown;
    exitCode: unknown;
    error: { code: unknown; message: unknown; problems?: unknown };
  };
  try {
    doc = JSON.parse(r.out) as typeof doc;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}): ${JSON.stringify(r.out)}`);
  }
  expect(doc.ok).toBe(false);
  expect(doc.exitCode).toBe(r.code);
  expect(typeof doc.error.message).toBe('string');
  return { ...doc.error, exitCode: r.code };
}

describe('D5 every command with --json prints one JSON document on stdout, whatever fails', () => {
  const missing = () => join(dir, 'no-such.json');
  const config = {
    explain: (c: string) => ['explain', c, '--json'],
    diff: (c: string) => ['diff', RULES_PATH, c, '--json'],
    'diff (old)': (c: string) => ['diff', c, RULES_PATH, '--json'],
    bucket: (c: string) => ['bucket', 'canary', 'v', '--config', c, '--json'],
    validate: (c: string) => ['validate', c, '--json'],
    push: (c: string) => ['push', c, join(dir, 'push-target.json'), '--json', '--yes'],
  } as const;
  const failures: readonly [string, () => string, string, number][] = [
    ['an invalid config', () => BROKEN_PATH, 'invalid_config', 1],
    ['a missing file', missing, 'io', 2],
    ['a directory', () => dir, 'io', 2],
    ['a malformed etcd URL', () => 'etcd://ops:pw@/no-host', 'usage', 2],
    ['an unreachable etcd', () => 'etcd://127.0.0.1:9/graylane/config', 'io', 2],
  ];
  const rows = Object.entries(config).flatMap(([cmd, build]) =>
    failures
      // validate answers an invalid config itself (ok false, errors, and the same error object).
      .map(([what, loc, code, exit]) => [`${cmd}: ${what}`, build, loc, code, exit] as const),
  );
  it.each(rows)(
    'D5 %s',
    async (_n, build, loc, code, exit) => {
      const error = await jsonFailure(build(loc()));
      expect(error).toMatchObject({ code, exitCode: exit });
      if (code === 'invalid_config') expect(error['problems']).toEqual(expect.any(Array));
      expect(JSON.stringify(error)).not.toContain(':pw@');
    },
    30_000,
  );

  it.each([
    ['explain: an unknown option', ['explain', RULES_PATH, '--nope', '--json']],
    ['explain: no config', ['explain', '--json']],
    ['explain: a bad --header', ['explain', RULES_PATH, '--header', 'nocolon', '--json']],
    ['explain: a bad --at', ['explain', RULES_PATH, '--at', '2026-12-02T10:00', '--json']],
    ['diff: one config', ['diff', RULES_PATH, '--json']],
    ['diff: --at and --now', ['diff', RULES_PATH, RULES_PATH, '--at', NOW, '--now', NOW, '--json']],
    ['bucket: no subject', ['bucket', 'canary', '--json']],
    ['validate: two configs', ['validate', RULES_PATH, RULES_PATH, '--json']],
    ['push: to stdin', ['push', RULES_PATH, '-', '--json']],
    ['sign: --json is no option of sign', ['sign', 'beta', '--json']],
    ['render: an unknown target', ['render', 'haproxy', RULES_PATH, '--json']],
    ['an unknown command', ['frobnicate', '--json']],
    ['stdin twice', ['diff', '-', '-', '--json']],
  ])('D5 usage error, %s: a JSON error of kind usage, exit 2', async (_n, args) => {
    const error = await jsonFailure(args, RULES);
    expect(error).toMatchObject({ code: 'usage', exitCode: 2 });
  });

  it('D5 (control) without --json a failure prints nothing on stdout', async () => {
    const r = await runInProcess(['explain', BROKEN_PATH]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
  });
});

describe('D6 push refuses to replace a target that is not a graylane config', () => {
  const PACKAGE_JSON = '{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {}\n}\n';
  const FOREIGN: readonly [string, string | Buffer][] = [
    ['a package.json', PACKAGE_JSON],
    ['a YAML file', 'versions:\n  - stable\n  - beta\ndefault: stable\n'],
    ['an INI file', '[server]\nport = 8080\n'],
    ['an empty JSON object', '{}'],
    ['a JSON array', '["stable", "beta"]'],
    ['a JSON string', '"stable"'],
    ['JSON null', 'null'],
    ['a tsconfig.json', '{"compilerOptions": {"strict": true}}'],
    ['binary bytes', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0xfe])],
    [
      'a package.json in UTF-16LE',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PACKAGE_JSON, 'utf16le')]),
    ],
    ['a shell script', '#!/bin/sh\necho "versions": 1\n'],
  ];
  let n = 0;
  const target = (content: string | Buffer): string => {
    const path = join(dir, `target-${++n}`);
    writeFileSync(path, content);
    return path;
  };

  it.each(FOREIGN)('D6 %s with --yes: exit 2, the file untouched', async (_n, content) => {
    const path = target(content);
    const r = await runInProcess(['push', RULES_PATH, path, '--yes']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/does not hold a graylane config .*--replace-foreign/);
    expect(readFileSync(path)).toEqual(Buffer.from(content));
  });

  it.each(FOREIGN)('D6 %s with --json --yes: error not_a_config', async (_n, content) => {
    const path = target(content);
    const error = await jsonFailure(['push', RULES_PATH, path, '--yes', '--json']);
    expect(error).toMatchObject({ code: 'not_a_config', exitCode: 2 });
    expect(readFileSync(path)).toEqual(Buffer.from(content));
  });

  it('D6 a dry run onto a package.json says it would refuse (exit 2)', async () => {
    const path = target(PACKAGE_JSON);
    const r = await runInProcess(['push', RULES_PATH, path, '--dry-run']);
    expect(r.code).toBe(2);
    expect(readFileSync(path, 'utf8')).toBe(PACKAGE_JSON);
  });

  it('D6 (control) --replace-foreign --yes replaces a package.json', async () => {
    const path = target(PACKAGE_JSON);
    const r = await runInProcess(['push', RULES_PATH, path, '--yes', '--replace-foreign']);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(RULES);
  });

  it.each([
    ['a config cut short', '{"versions": ["stable", "be'],
    ['a config with a trailing comma', '{"versions": ["stable", "beta"], "default": "stable",}'],
    ['a config whose default is undeclared', '{"versions": ["stable"], "default": "beta"}'],
    [
      'a config without versions but with its $schema',
      '{"$schema": "https://x/graylane.schema.json"}',
    ],
    ['an empty file', ''],
    ['whitespace only', '\n  \n'],
    ['a config with a Latin-1 byte', Buffer.from('{"versions": ["stable", "b\xe9ta"]}', 'latin1')],
  ])('D6 (control) %s is a graylane config to fix: replaced with --yes', async (_n, content) => {
    const path = target(content);
    const r = await runInProcess(['push', RULES_PATH, path, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(RULES);
  });
});
