import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraylane, getGrayVersion } from '@graylane/node';
import { runInProcess } from './helpers.js';

/**
 * `graylane explain --path`: the per-rule trace reads the path the decision was made on. The
 * decision comes from `@graylane/node`'s middleware, whose `path` rules match the path after
 * core's normalisation (escaped unreserved characters, `\`, dot segments: REQ-03); the trace
 * read `--path` as given, so for `/a/../beta` or `/be%74a` it said a rule did not match while the
 * decision was made by it (or the reverse). Every row runs the text and the `--json` output and
 * holds the trace to the decision; where Node's client can send the target verbatim, a real
 * `@graylane/node` server on 127.0.0.1 decides the same bytes too. Rows named `(control)` held
 * before (the normalisation does not change which rule matches); the server rows are controls too
 * (the decision was already the middleware's).
 */
const CONFIG = JSON.stringify({
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'gated',
      match: { header: { 'x-qa': { equals: '1' } }, path: { prefix: '/qa' } },
      version: 'canary',
    },
    { id: 'exact', match: { path: { equals: '/admin' } }, version: 'canary' },
    { id: 'prefix', match: { path: { prefix: '/beta' } }, version: 'beta' },
    { id: 're', match: { path: { regex: '^/api/v[0-9]+/orders$' } }, version: 'canary' },
    {
      id: 'half',
      match: { path: { prefix: '/split' } },
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'header:x-user',
    },
  ],
});
const NOW = '2026-12-24T10:00:00Z';

let dir = '';
let configPath = '';
let server: http.Server;
let port = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'graylane-explain-path-'));
  configPath = join(dir, 'paths.json');
  writeFileSync(configPath, CONFIG);
  const gray = createGraylane({
    config: CONFIG,
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

/** The server's version, reason and rule for `target` sent verbatim (its X-Gray-Decision). */
function serverSays(target: string, headers: readonly [string, string][]): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: target,
      headers: [['Host', `127.0.0.1:${port}`], ...headers].flat(),
    });
    req.on('response', (res) => {
      res.resume();
      resolve(String(res.headers['x-gray-decision'] ?? `HTTP ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A target Node's client sends as given and Node's server parses (origin form, printable ASCII). */
const sendable = (target: string): boolean => /^\/[\x21-\x7e]*$/.test(target);

interface Row {
  readonly path: string;
  /** The version the middleware decides (pins what the row exercises). */
  readonly version: string;
  readonly headers?: readonly [string, string][];
  readonly query?: readonly string[];
}

const LONG_UP = `/${'a/'.repeat(2000)}${'../'.repeat(2000)}beta`;
const LONG_DOTS = `/x${'/.'.repeat(3000)}/../admin`;

const ROWS: readonly [string, Row][] = [
  // Escaped unreserved characters are those characters (RFC 3986 §6.2.2.2).
  ['an escaped letter /be%74a', { path: '/be%74a', version: 'beta' }],
  ['all escaped /%62%65%74%61/x', { path: '/%62%65%74%61/x', version: 'beta' }],
  ['an exact rule /%61dmin', { path: '/%61dmin', version: 'canary' }],
  ['lower-case escape /adm%69n', { path: '/adm%69n', version: 'canary' }],
  ['a regex rule /api/v2/%6Frders', { path: '/api/v2/%6Frders', version: 'canary' }],
  ['an escaped digit /api/v%32/orders', { path: '/api/v%32/orders', version: 'canary' }],
  ['an escaped dot segment /%2e%2e/beta', { path: '/%2e%2e/beta', version: 'beta' }],
  ['an escaped dot segment /x/%2E%2E/admin', { path: '/x/%2E%2E/admin', version: 'canary' }],
  ['(control) an escaped slash /admin%2F', { path: '/admin%2F', version: 'stable' }],
  ['(control) an escaped % /be%2574a', { path: '/be%2574a', version: 'stable' }],
  ['(control) a bad escape /%ZZbeta', { path: '/%ZZbeta', version: 'stable' }],
  ['(control) /beta%2Fx (prefix either way)', { path: '/beta%2Fx', version: 'beta' }],
  // Dot segments (RFC 3986 §5.2.4).
  ['/a/../beta/x', { path: '/a/../beta/x', version: 'beta' }],
  ['/./beta', { path: '/./beta', version: 'beta' }],
  ['/../../beta (never above the root)', { path: '/../../beta', version: 'beta' }],
  [
    '/beta/../admin (a prefix rule that no longer holds)',
    { path: '/beta/../admin', version: 'canary' },
  ],
  ['/x/../admin', { path: '/x/../admin', version: 'canary' }],
  ['/api/v2/x/../orders', { path: '/api/v2/x/../orders', version: 'canary' }],
  ['/beta/.. (up to the root)', { path: '/beta/..', version: 'stable' }],
  ['(control) /admin/. (a directory: /admin/)', { path: '/admin/.', version: 'stable' }],
  ['(control) /beta/./x', { path: '/beta/./x', version: 'beta' }],
  ['(control) /..beta (not a dot segment)', { path: '/..beta', version: 'stable' }],
  [
    '(control) /x/..;gray=beta/admin (not a dot segment)',
    { path: '/x/..;gray=beta/admin', version: 'stable' },
  ],
  // `\` is `/` (the WHATWG URL parser).
  ['a backslash /x\\..\\admin', { path: '/x\\..\\admin', version: 'canary' }],
  ['a backslash /a\\..\\beta', { path: '/a\\..\\beta', version: 'beta' }],
  // Duplicate slashes are kept (routers differ).
  ['(control) //beta', { path: '//beta', version: 'stable' }],
  ['(control) /beta//x', { path: '/beta//x', version: 'beta' }],
  ['(control) //admin', { path: '//admin', version: 'stable' }],
  ['(control) /a/..//beta (a dot segment before //)', { path: '/a/..//beta', version: 'stable' }],
  ['(control) /a/../../admin//', { path: '/a/../../admin//', version: 'stable' }],
  // A trailing slash is kept.
  ['(control) /admin/', { path: '/admin/', version: 'stable' }],
  ['(control) /beta/', { path: '/beta/', version: 'beta' }],
  [
    '(control) /x/../admin/ (trailing slash after a dot segment)',
    { path: '/x/../admin/', version: 'stable' },
  ],
  [
    '(control) /api/v2/orders/x/.. (dot segment leaves /orders/)',
    { path: '/api/v2/orders/x/..', version: 'stable' },
  ],
  // `;` parameters: the plain Node middleware keeps them in the path.
  ['(control) /beta;gray=stable', { path: '/beta;gray=stable', version: 'beta' }],
  ['(control) /admin;gray=beta', { path: '/admin;gray=beta', version: 'stable' }],
  ['(control) /%61dmin;gray=beta', { path: '/%61dmin;gray=beta', version: 'stable' }],
  ['/x/../beta;gray=stable', { path: '/x/../beta;gray=stable', version: 'beta' }],
  ['/x;gray=beta/../admin', { path: '/x;gray=beta/../admin', version: 'canary' }],
  // Case is kept.
  ['(control) /Admin', { path: '/Admin', version: 'stable' }],
  ['(control) /BETA', { path: '/BETA', version: 'stable' }],
  ['(control) /%42eta (an escaped capital)', { path: '/%42eta', version: 'stable' }],
  ['/%41dmin/../%61dmin', { path: '/%41dmin/../%61dmin', version: 'canary' }],
  // Non-ASCII: escapes of it stay; raw characters are characters.
  ['(control) /beta/ü', { path: '/beta/ü', version: 'beta' }],
  ['(control) /bet%C3%A4', { path: '/bet%C3%A4', version: 'stable' }],
  ['/é/../beta', { path: '/é/../beta', version: 'beta' }],
  ['(control) /ａdmin (full-width)', { path: '/ａdmin', version: 'stable' }],
  ['/日本/../admin', { path: '/日本/../admin', version: 'canary' }],
  ['(control) /%E2%80%AEadmin', { path: '/%E2%80%AEadmin', version: 'stable' }],
  // Very long.
  ['2000 segments up and back to /beta', { path: LONG_UP, version: 'beta' }],
  ['3000 "." segments, then ../admin', { path: LONG_DOTS, version: 'canary' }],
  ['(control) /beta/ and 8000 x', { path: `/beta/${'x'.repeat(8000)}`, version: 'beta' }],
  ['(control) 3000 escaped letters', { path: `/${'%61'.repeat(3000)}`, version: 'stable' }],
  // With a query, other conditions, a split.
  ['a query on the path /a/../beta?x=1', { path: '/a/../beta?x=1', version: 'beta' }],
  ['--query after /be%74a', { path: '/be%74a', query: ['x=1'], version: 'beta' }],
  [
    'a header and a path /x/../qa',
    { path: '/x/../qa', headers: [['X-QA', '1']], version: 'canary' },
  ],
  [
    '(control) the header without the path',
    { path: '/x/qa', headers: [['X-QA', '1']], version: 'stable' },
  ],
  ['a split on /%73plit', { path: '/%73plit', headers: [['X-User', 'u-1']], version: 'beta' }],
  [
    'a split on /x/../split',
    { path: '/x/../split', headers: [['X-User', 'u-3']], version: 'stable' },
  ],
  [
    '(control) a marker decides: rules not consulted',
    { path: '/a/../admin', headers: [['X-Gray-Id', 'beta']], version: 'beta' },
  ],
];

interface Trace {
  readonly ruleId: string;
  readonly outcome: string;
  readonly details: readonly string[];
}

function flags(row: Row): string[] {
  const args = ['explain', configPath, '--now', NOW, '--path', row.path];
  for (const [k, v] of row.headers ?? []) args.push('--header', `${k}: ${v}`);
  for (const q of row.query ?? []) args.push('--query', q);
  return args;
}

describe('REQ-03 explain: the trace reads the path the decision was made on', () => {
  it.each(ROWS)('REQ-03 %s: --json trace and decision agree', async (_n, row) => {
    const r = await runInProcess([...flags(row), '--json']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as {
      decision: { version: string; reason: string; source: string; ruleId?: string };
      rules: Trace[];
    };
    expect(doc.decision.version).toBe(row.version);
    const matched = doc.rules.filter((t) => t.outcome === 'matched').map((t) => t.ruleId);
    if (doc.decision.source === 'rules') {
      expect(matched).toEqual([doc.decision.ruleId]);
      expect(doc.rules.at(-1)?.ruleId).toBe(doc.decision.ruleId);
    } else if (doc.decision.source === 'default') {
      expect(matched).toEqual([]);
      expect(doc.rules.map((t) => t.ruleId)).toEqual(['gated', 'exact', 'prefix', 're', 'half']);
    } else expect(doc.rules).toEqual([]);
  });

  it.each(ROWS)('REQ-03 %s: text trace and decision agree', async (_n, row) => {
    const r = await runInProcess(flags(row));
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    const head = lines.find((l) => l.startsWith('version '));
    const decided = /^version (\S+) \(reason: ([a-z_]+)(?:, rule: ([^,)]+))?/.exec(head ?? '');
    expect(decided?.[1], r.out).toBe(row.version);
    const matched = lines.flatMap((l) => /^ {2}rule (\S+): matched$/.exec(l)?.[1] ?? []);
    const ruleId = decided?.[3];
    expect(matched, r.out).toEqual(ruleId === undefined ? [] : [ruleId]);
  });

  it.each(ROWS.filter(([, row]) => sendable(row.path)))(
    'REQ-03 %s: a real @graylane/node server decides the same',
    async (_n, row) => {
      const target = row.query ? `${row.path}?${row.query.join('&')}` : row.path;
      const [said, r] = await Promise.all([
        serverSays(target, row.headers ?? []),
        runInProcess([...flags(row), '--json']),
      ]);
      const doc = JSON.parse(r.out) as {
        decision: { version: string; reason: string; ruleId?: string };
      };
      expect(said).toMatch(/^version=/);
      expect(/version=([^;]+)/.exec(said)?.[1]).toBe(doc.decision.version);
      expect(/reason=([^;]+)/.exec(said)?.[1]).toBe(doc.decision.reason);
    },
  );

  it('REQ-03 the path the rules match is printed when it differs from --path', async () => {
    const text = await runInProcess(['explain', configPath, '--path', '/a/../be%74a/x']);
    expect(text.out.split('\n')).toContain('path "/a/../be%74a/x": rules match it as "/beta/x"');
    expect(text.out).toContain('path = "/beta/x" starts with "/beta": yes');
    const json = await runInProcess(['explain', configPath, '--path', '/a/../be%74a/x', '--json']);
    expect((JSON.parse(json.out) as { path: string }).path).toBe('/beta/x');
    const same = await runInProcess(['explain', configPath, '--path', '/beta/x']);
    expect(same.out).not.toContain('rules match it as');
  });
});

// An absolute-form target and a `#` are decided as Node decides them (explain-node.test.ts).
describe('REQ-03 explain: a --path a Node server answers 400 to is refused', () => {
  it.each([
    ['no leading slash', 'beta'],
    ['a backslash first', '\\beta'],
    ['the authority form', 'shop.example:443'],
    ['a scheme with a digit', 'h2c://h/beta'],
    ['a # in the host of an absolute URL', 'http://h#x/beta'],
    ['a query without a path', '?gray=beta'],
  ])('REQ-03 %s: a usage error, text and --json', async (_n, path) => {
    const text = await runInProcess(['explain', configPath, '--path', path]);
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/--path/);
    const json = await runInProcess(['explain', configPath, '--path', path, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      error: { code: 'usage' },
      exitCode: 2,
    });
  });
});
