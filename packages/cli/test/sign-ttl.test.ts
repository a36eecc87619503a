import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from './helpers.js';

/*
 * Review 169 N3: `graylane sign --ttl` takes a whole duration from 1 s to 30 days — the cap on
 * graylane's sticky cookie; the verifier honours a token until its own expiry, so a longer one
 * would be a standing bypass. Anything else (a sign, a fraction, an exponent, hex, Infinity, a
 * unit it does not know, past the cap) is a usage error (exit 2) that names the accepted range,
 * and no token is printed. `--config` refuses a version the config does not declare, as
 * `render --upstream` does.
 */

const dir = mkdtempSync(join(tmpdir(), 'graylane-sign-ttl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const KEY = file('qa.key', 'a-key-that-is-long-enough-for-tests\n');
const CONFIG = file(
  'rules.json',
  JSON.stringify({ versions: ['stable', 'beta'], default: 'stable' }),
);
const BROKEN = file('broken.json', JSON.stringify({ versions: ['stable'], default: 'beta' }));
const DAY = 86_400;

const sign = (...args: string[]) => runInProcess(['sign', 'beta', '--key-file', KEY, ...args]);

/** Refused `--ttl` values and why: `format`, `zero` or `cap`. */
const REFUSED: readonly [string, 'format' | 'zero' | 'cap'][] = [
  ['abc', 'format'],
  ['', 'format'],
  [' 2h', 'format'],
  ['2h ', 'format'],
  ['-1', 'format'],
  ['-5m', 'format'],
  ['+5', 'format'],
  ['1.5h', 'format'],
  ['1.5', 'format'],
  ['.5h', 'format'],
  ['1e9', 'format'],
  ['1e3s', 'format'],
  ['Infinity', 'format'],
  ['-Infinity', 'format'],
  ['NaN', 'format'],
  ['0x10', 'format'],
  ['0b101', 'format'],
  ['0o17', 'format'],
  ['1_000', 'format'],
  ['２h', 'format'],
  ['2H', 'format'],
  ['2hours', 'format'],
  ['1w', 'format'],
  ['2h30m', 'format'],
  ['9999999999999', 'format'],
  ['0', 'zero'],
  ['0s', 'zero'],
  ['00', 'zero'],
  ['0d', 'zero'],
  ['31d', 'cap'],
  ['721h', 'cap'],
  ['43201m', 'cap'],
  ['2592001', 'cap'],
  ['2592001s', 'cap'],
  ['999999999999d', 'cap'],
];

describe('review 169 N3 sign --ttl: refused values are usage errors naming the range', () => {
  it.each(REFUSED)('--ttl=%j (%s)', async (value, why) => {
    const r = await sign(`--ttl=${value}`);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`got ${JSON.stringify(value)}`);
    expect(r.err).toMatch(/from 1s to 30d = 2592000 s/);
    if (why === 'cap') expect(r.err).toMatch(/at most as long as graylane's sticky cookie/);
    if (why === 'zero') expect(r.err).toMatch(/already expired/);
  });

  it('--ttl -1 as its own argument: a usage error that names the range', async () => {
    const r = await sign('--ttl', '-1');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/at most 30d/);
  });
});

describe('review 169 N3 sign --ttl: the range itself (controls)', () => {
  it.each([
    ['1', 1],
    ['1s', 1],
    ['007h', 7 * 3600],
    ['30d', 30 * DAY],
    ['720h', 30 * DAY],
    ['43200m', 30 * DAY],
    ['2592000', 30 * DAY],
    ['2592000s', 30 * DAY],
  ] as const)('--ttl %s: a token that expires %i s from now', async (value, seconds) => {
    const before = Math.floor(Date.now() / 1000);
    const r = await sign('--ttl', value);
    const after = Math.floor(Date.now() / 1000);
    expect(r.code).toBe(0);
    const exp = Number(r.out.split('.')[1]);
    expect(exp).toBeGreaterThanOrEqual(before + seconds);
    expect(exp).toBeLessThanOrEqual(after + seconds);
  });
});

describe('review 169 N3 sign --config: the version must be declared', () => {
  it('a declared version: signed, and verify --config accepts it', async () => {
    const r = await sign('--config', CONFIG, '--ttl', '1h');
    expect(r.code).toBe(0);
    const v = await runInProcess(['verify', r.out, '--key-file', KEY, '--config', CONFIG]);
    expect(v).toMatchObject({ code: 0, out: expect.stringMatching(/^valid: version beta/) });
  });

  it.each(['canary', 'stable2', 'beta-'])('%s, not declared: exit 2, no token', async (version) => {
    const r = await runInProcess(['sign', version, '--key-file', KEY, '--config', CONFIG]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`"${version}": not a version of this config (stable, beta)`);
  });

  it('a config from stdin is read as any other', async () => {
    const ok = await runInProcess(['sign', 'beta', '--key-file', KEY, '--config', '-'], {
      stdin: JSON.stringify({ versions: ['stable', 'beta'], default: 'stable' }),
    });
    expect(ok.code).toBe(0);
    const no = await runInProcess(['sign', 'beta', '--key-file', KEY, '--config', '-'], {
      stdin: JSON.stringify({ versions: ['stable', 'gamma'], default: 'stable' }),
    });
    expect(no.code).toBe(2);
  });

  it('an invalid config: exit 1 with its problems, no token', async () => {
    const r = await sign('--config', BROKEN);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/is not a valid config/);
  });
});
