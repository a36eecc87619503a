import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;
const file = (name: string) => join(dir, name);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const CONFIG = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'qa', match: { header: { 'x-user-group': { equals: 'qa' } } }, version: 'beta' },
    {
      id: 'checkout',
      match: { path: { prefix: '/api/checkout' } },
      version: 'beta',
      window: { from: '2026-12-01T00:00:00Z', until: '2027-01-01T00:00:00Z' },
    },
    {
      id: 'canary',
      split: [
        { version: 'beta', weight: 5 },
        { version: 'stable', weight: 95 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

beforeAll(() => {
  expect(existsSync(BIN), 'build @graylane/cli first (npm test builds)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'graylane-cli-'));
  writeFileSync(file('config.json'), JSON.stringify(CONFIG, null, 2));
  writeFileSync(
    file('bad.json'),
    JSON.stringify({
      versions: ['stable'],
      default: 'beta',
      rules: [{ id: 'x', split: [{ version: 'stable', weight: 50 }], bucketBy: 'attr:u' }],
    }),
  );
  writeFileSync(file('broken.json'), '{"versions": ["stable"');
  writeFileSync(file('key'), 'a-very-secret-key-of-32-bytes!!!\n');
  writeFileSync(file('short-key'), 'short');
  const next = structuredClone(CONFIG);
  next.rules[2] = {
    id: 'canary',
    split: [
      { version: 'beta', weight: 50 },
      { version: 'stable', weight: 50 },
    ],
    bucketBy: 'cookie:gray_uid',
  };
  writeFileSync(file('next.json'), JSON.stringify(next));
  writeFileSync(
    file('visitors.jsonl'),
    Array.from({ length: 400 }, (_, i) =>
      JSON.stringify({ cookies: { gray_uid: `visitor-${i}` } }),
    ).join('\n') + '\nnot json\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('graylane (built binary)', () => {
  it('prints help with no command (exit 2) and with --help (exit 0); unknown commands and flags fail clearly', async () => {
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Usage: graylane <command>/);
    expect((await cli('--help')).code).toBe(0);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const flag = await cli('explain', file('config.json'), '--bogus');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    expect(flag.stderr).not.toMatch(/at .*\.js:\d+/);
    for (const c of ['validate', 'explain', 'sign', 'verify', 'bucket', 'render', 'diff', 'push']) {
      const help = await cli(c, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: graylane ${c}`));
    }
  });

  it('validate: exit 0 for a valid config', async () => {
    const r = await cli('validate', file('config.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok .*config\.json: versions stable, beta \(default stable\), 3 active rules, hash [0-9a-f]{16}$/m,
    );
  });

  it('validate: exit 1 and every problem with its JSON path, one per line', async () => {
    const r = await cli('validate', file('bad.json'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^error \$\.default: must be one of the declared versions \(stable\)$/m,
    );
    expect(r.stdout).toMatch(/^error \$\.rules\[0\]\.split: weights sum to 50/m);
    const broken = await cli('validate', file('broken.json'));
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^error \$\.versions: expected "," or "]" at offset \d+$/m);
  });

  it('validate: unreadable files are a clear error (exit 2), not a stack trace', async () => {
    const r = await cli('validate', file('missing.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*missing\.json: no such file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('explain: the decision, the reason and the trace of rules tried', async () => {
    const r = await cli(
      'explain',
      file('config.json'),
      '--header',
      'X-User-Group: qa',
      '--path',
      '/api/x',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^version beta \(reason: rule, rule: qa\)$/m);
    expect(r.stdout).toMatch(/header x-user-group = "qa" equals "qa": yes/);
    const w = await cli(
      'explain',
      file('config.json'),
      '--path',
      '/api/checkout',
      '--now',
      '2026-06-01T00:00:00Z',
      '--cookie',
      'gray_uid=u1',
    );
    expect(w.stdout).toMatch(/rule checkout: outside window/);
    expect(w.stdout).toMatch(/rule canary: matched/);
  });

  it('explain: markers take precedence and invalid ones are reported; --json for machines', async () => {
    const m = await cli(
      'explain',
      file('config.json'),
      '--header',
      'X-Gray-Id: gamma',
      '--query',
      'gray=beta',
    );
    expect(m.stdout).toMatch(/header marker "gamma": ignored \(unknown\)/);
    expect(m.stdout).toMatch(/version beta \(reason: query\)/);
    const j = await cli('explain', file('config.json'), '--attr', 'userId=42', '--json');
    const parsed = JSON.parse(j.stdout);
    expect(parsed.decision).toEqual({ version: 'stable', reason: 'default', source: 'default' });
    expect(parsed.rules.map((r: { ruleId: string }) => r.ruleId)).toEqual([
      'qa',
      'checkout',
      'canary',
    ]);
    const bad = await cli('explain', file('config.json'), '--now', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--now expects an ISO instant/);
  });

  it('sign and verify: a token valid for two hours, rejected with the wrong key or subject', async () => {
    const s = await cli(
      'sign',
      'beta',
      '--key-file',
      file('key'),
      '--kid',
      'qa',
      '--ttl',
      '2h',
      '--subject',
      'user-1',
    );
    expect(s.code).toBe(0);
    const token = s.stdout.trim();
    expect(token).toMatch(/^beta\.\d+\.qa\.[A-Za-z0-9_-]{43}$/);
    const exp = Number(token.split('.')[1]) * 1000;
    expect(exp - Date.now()).toBeGreaterThan(7190_000);
    expect(exp - Date.now()).toBeLessThanOrEqual(7200_000);
    const ok = await cli(
      'verify',
      token,
      '--key-file',
      file('key'),
      '--kid',
      'qa',
      '--subject',
      'user-1',
      '--config',
      file('config.json'),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^valid: version beta, key qa, expires 20\d\d-/m);
    const other = await cli(
      'verify',
      token,
      '--key-file',
      file('key'),
      '--kid',
      'qa',
      '--subject',
      'user-2',
    );
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/invalid: bad_signature/);
    writeFileSync(file('keys.json'), JSON.stringify({ qa: 'another-key-that-is-long-enough' }));
    const rotated = await cli(
      'verify',
      token,
      '--keys-file',
      file('keys.json'),
      '--subject',
      'user-1',
    );
    expect(rotated.code).toBe(1);
  });

  it('sign: bad input is a clear error', async () => {
    expect((await cli('sign', 'Beta', '--key-file', file('key'))).stderr).toMatch(
      /not a version label/,
    );
    expect((await cli('sign', 'beta', '--key-file', file('short-key'))).stderr).toMatch(
      /use at least 16/,
    );
    expect((await cli('sign', 'beta', '--key-file', file('key'), '--ttl', 'soon')).stderr).toMatch(
      /--ttl expects a duration/,
    );
    expect((await cli('sign', 'beta')).code).toBe(2);
  });

  it('bucket: the bucket and the version each split rule gives', async () => {
    const r = await cli('bucket', 'canary', 'user-42', '--config', file('config.json'), '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.bucket).toBeGreaterThanOrEqual(0);
    expect(parsed.bucket).toBeLessThan(10_000);
    expect(parsed.rules).toEqual([
      {
        ruleId: 'canary',
        salt: 'canary',
        bucket: parsed.bucket,
        version: parsed.bucket < 500 ? 'beta' : 'stable',
      },
    ]);
    const text = await cli('bucket', 'canary', 'user-42');
    expect(text.stdout.trim()).toBe(`bucket("canary", "user-42") = ${parsed.bucket}`);
  });

  it('render nginx and envoy: the header, then __Host-gray, then gray; bad options fail clearly', async () => {
    const n = await cli(
      'render',
      'nginx',
      file('config.json'),
      '--upstream',
      'stable=127.0.0.1:9001',
      '--upstream',
      'beta=127.0.0.1:9002',
    );
    expect(n.code).toBe(0);
    expect(n.stdout).toMatch(/map \$http_x_gray_id \$graylane_header/);
    expect(n.stdout).toMatch(/map \$http_cookie \$graylane_cookie_1 \{(?:\n.*)*?__Host-gray\[/);
    expect(n.stdout).toMatch(/map \$http_cookie \$graylane_cookie_2 \{(?:\n.*)*?\+gray\[/);
    expect(n.stdout).toMatch(/upstream graylane_beta \{\n {4}server 127\.0\.0\.1:9002;/);
    expect(n.stdout).toMatch(/proxy_set_header X-Gray-Id \$graylane_version;/);
    const e = await cli('render', 'envoy', file('config.json'));
    expect(e.stdout).toMatch(/cluster: "graylane_beta"/);
    const json = await cli('render', 'envoy', file('config.json'), '--format', 'json');
    const routes = JSON.parse(json.stdout).route_config.virtual_hosts[0].routes;
    expect(routes.at(-1)).toMatchObject({ route: { cluster: 'graylane_stable' } });
    for (const [args, message] of [
      [['--upstream', 'gamma=127.0.0.1:1'], /not a version of this config/],
      [['--trust', 'edge'], /--trust expects open or signed/],
      [['--format', 'toml'], /--format expects yaml or json/],
      [['--cookie', 'gr ay'], /plain names/],
    ] as const) {
      const bad = await cli('render', 'nginx', file('config.json'), ...args);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });

  it('diff: changed rules and the sampled impact', async () => {
    const r = await cli(
      'diff',
      file('config.json'),
      file('next.json'),
      '--sample',
      file('visitors.jsonl'),
      '--json',
    );
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.changedRuleIds).toEqual(['canary']);
    expect(parsed.impact.total).toBe(400);
    expect(parsed.impact.skipped).toBe(1);
    // 5% → 50% only moves visitors from stable to beta (monotonic ramp): roughly 45% of them.
    expect(Object.keys(parsed.impact.moves)).toEqual(['stable → beta']);
    expect(parsed.impact.changed).toBeGreaterThan(400 * 0.35);
    expect(parsed.impact.changed).toBeLessThan(400 * 0.55);
    const same = await cli('diff', file('config.json'), file('config.json'));
    expect(same.stdout).toMatch(/no change/);
  });
});
