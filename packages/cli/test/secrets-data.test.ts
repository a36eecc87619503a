import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

/**
 * MISC-03 without corrupting data: a registered secret (an etcd password, a key) is scrubbed
 * from diagnostics only. Data on stdout — a config from `pause`, a rendered snippet, a report —
 * is the user's own and printed unchanged, even where it happens to contain a password's text:
 * `pause … | push - …` must write exactly the config it read (a password `user` once turned the
 * header `x-user-group` into `x-***-group` in what was pushed). Short secrets never mangle
 * messages. Secrets are registered the way the CLI learns them: from etcd URLs on the command
 * line (the registry is per process, so registering in this file registers for every row).
 */
const RAMP = fileURLToPath(new URL('../examples/ramp-schedule.json', import.meta.url));
const RULES = fileURLToPath(new URL('../examples/rules.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'graylane-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Passwords that are also words of the examples' data, from 1 character to long ones. */
const PASSWORDS = [
  'e',
  'qa',
  'user',
  'beta',
  'ramp',
  'stable',
  'canary',
  'gray_uid',
  'x-user-group',
  'api/checkout',
  '2026-12-01T09:00:00Z',
];

async function cli(args: string[], stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    color: false,
    ...(stdin === undefined ? {} : { stdin: async () => new TextEncoder().encode(stdin) }),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const AT = ['--at', '2026-12-02T12:00:00Z'];
const COMMANDS: readonly [string, string[]][] = [
  ['pause', ['pause', RAMP, '--rule', 'ramp', ...AT]],
  ['pause --resume', ['pause', RAMP, '--rule', 'ramp', '--resume']],
  ['render nginx', ['render', 'nginx', RULES, '--upstream', 'stable=127.0.0.1:1']],
  ['render nginx --assets', ['render', 'nginx', RULES, '--assets', '/srv/web/user']],
  ['render envoy', ['render', 'envoy', RAMP, '--bucket-header', 'x-b', ...AT]],
  ['render envoy --format json', ['render', 'envoy', RULES, '--format', 'json']],
  ['validate', ['validate', RULES]],
  ['validate --json', ['validate', RULES, '--json']],
  ['explain', ['explain', RULES, '--header', 'X-User-Group: qa', ...AT]],
  ['explain --json', ['explain', RAMP, '--cookie', 'gray_uid=user-1', '--json', ...AT]],
  ['diff --json', ['diff', RULES, RAMP, '--json', ...AT]],
  ['bucket', ['bucket', 'canary', 'user-42', '--config', RULES]],
];

/** Diagnostics that hold short secrets' text ('e', 'user', 'qa'…) as ordinary words. */
const MESSAGES: readonly [string, string[]][] = [
  ['a mistyped instant', ['diff', RULES, RULES, '--now', 'soon']],
  ['an unknown option', ['validate', '--user']],
  ['a missing file', ['validate', join(dir, 'no-user-here.json')]],
  ['a bad upstream', ['render', 'nginx', RULES, '--upstream', 'beta']],
  ['unknown versions', ['render', 'nginx', RULES, '--upstream', 'qa=127.0.0.1:1']],
];

describe('MISC-03 data on stdout is never altered by secret scrubbing', () => {
  const before = new Map<string, string>();
  const messages = new Map<string, string>();
  const registered = new Map<string, Awaited<ReturnType<typeof cli>>>();
  beforeAll(async () => {
    for (const [name, args] of COMMANDS) before.set(name, (await cli(args)).out);
    for (const [name, args] of MESSAGES) messages.set(name, (await cli(args)).err);
    // Register every password as the CLI does: an etcd URL among the arguments (the port is
    // closed, so the command fails fast; the password is registered before anything prints).
    for (const pw of PASSWORDS)
      registered.set(pw, await cli(['validate', `etcd://ops:${pw}@127.0.0.1:9/graylane/config`]));
  }, 120_000);

  it.each(PASSWORDS)(
    'the diagnostic shows the URL without its password %j, whatever its length',
    (pw) => {
      const r = registered.get(pw);
      expect(r?.code).toBe(2);
      expect(r?.err).toContain('etcd://***@127.0.0.1:9/graylane/config');
      expect(r?.err).not.toContain(`ops:${pw}@`);
    },
  );

  it.each(COMMANDS)(
    '%s: stdout byte for byte as before any secret was known',
    async (name, args) => {
      const r = await cli(args);
      expect(r.code).not.toBe(2);
      expect(r.out).toBe(before.get(name));
      expect(r.out.length).toBeGreaterThan(0);
    },
  );

  it.each(PASSWORDS)(
    'pause | push - <file>: the pushed config is the one read (password %j)',
    async (pw) => {
      const target = join(dir, `target-${encodeURIComponent(pw)}.json`);
      writeFileSync(target, readFileSync(RULES));
      const paused = await cli(['pause', RAMP, '--rule', 'ramp', ...AT]);
      expect(paused.code).toBe(0);
      const pushed = await cli(['push', '-', target, '--yes'], paused.out);
      expect(pushed.code, pushed.err).toBe(0);
      expect(readFileSync(target, 'utf8').trim()).toBe(paused.out.trim());
      const written = JSON.parse(readFileSync(target, 'utf8')) as Record<string, unknown>;
      const source = JSON.parse(readFileSync(RAMP, 'utf8')) as Record<string, unknown>;
      expect(written['versions']).toEqual(source['versions']);
      expect(JSON.stringify(written)).not.toContain('***');
    },
  );

  it.each(MESSAGES)('%s: the message is not mangled by short secrets', async (name, args) => {
    const r = await cli([...args]);
    expect(r.code).toBe(2);
    // Only secrets of 8 characters or more are scrubbed from free text (here the date one).
    let expected = messages.get(name) as string;
    for (const pw of PASSWORDS.filter((p) => p.length >= 8))
      expected = expected.split(pw).join('***');
    expect(r.err).toBe(expected);
    expect(r.err).toMatch(/\w{4}/);
  });

  it.each(PASSWORDS.filter((pw) => pw.length >= 8))(
    'a long secret (%j) is still scrubbed from diagnostics, wherever it appears',
    async (pw) => {
      const r = await cli(['validate', join(dir, `missing-${pw.replace(/\//g, '_')}`), '--json']);
      expect(r.code).toBe(2);
      // The path holds the secret's text only when it has no '/': then it is scrubbed.
      if (!pw.includes('/')) expect(`${r.err}\n${r.out}`).not.toContain(pw);
      expect(r.err).toMatch(/no such file/);
    },
  );
});

describe('validate --json: an answer on stdout for every outcome', () => {
  it.each([
    ['a missing file', () => join(dir, 'nope.json')],
    ['a directory', () => dir],
    ['a malformed etcd URL', () => 'etcd://ops:pw@/no-host'],
    ['an unreachable etcd', () => 'etcd://127.0.0.1:9/graylane/config'],
  ])('%s: {"ok": false, "error": {code, message}, "exitCode": 2}', async (_n, location) => {
    const r = await cli(['validate', location(), '--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as {
      ok: boolean;
      error: { code: string; message: string };
      exitCode: number;
    };
    expect(report.ok).toBe(false);
    expect(report.exitCode).toBe(2);
    expect(['io', 'usage']).toContain(report.error.code);
    expect(report.error.message.length).toBeGreaterThan(0);
    expect(r.out).not.toContain(':pw@');
  });
});

describe('verify --keys-file: every key as long as sign requires', () => {
  const token = 'beta.1900000000.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  it.each([
    [{ k1: '' }, false],
    [{ k1: 'k' }, false],
    [{ k1: '123456789012345' }, false],
    [{ k1: 'a'.repeat(32), k2: 'short' }, false],
    [{ k1: '1234567890123456' }, true],
    [{ k1: 'a'.repeat(32), k2: 'b'.repeat(44) }, true],
  ] as const)('keys %j: accepted %s', async (keys, ok) => {
    const file = join(dir, `keys-${Object.values(keys).join('-').length}-${ok}.json`);
    writeFileSync(file, JSON.stringify(keys));
    const r = await cli(['verify', token, '--keys-file', file]);
    if (ok) {
      expect(r.code).toBe(1); // a well-formed ring: the token's signature is simply wrong
      expect(r.out).toMatch(/invalid: bad_signature/);
    } else {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/use at least 16/);
    }
  });
});
