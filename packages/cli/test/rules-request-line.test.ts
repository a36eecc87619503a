// Review 127 D2 through the command line: `graylane validate` refuses a host rule with a port
// (naming the path, exit 1) and `graylane explain` shows the host and method values as they are
// compared (lower-case host, upper-case method), the same as the servers decide.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraylane } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'graylane-request-line-'));
function file(name: string, match: unknown): string {
  const path = join(dir, name);
  const rules = [{ id: 'r', version: 'beta', match }];
  writeFileSync(path, JSON.stringify({ versions: ['stable', 'beta'], default: 'stable', rules }));
  return path;
}

describe('review 127 D2 CLI: validate and explain agree with the servers', () => {
  it.each([
    [{ host: { equals: 'api.example.com:8443' } }, '$.rules[0].match.host.equals'],
    [{ host: { in: ['a.example', '[::1]:80'] } }, '$.rules[0].match.host.in[1]'],
    [{ host: { equals: '::1' } }, '$.rules[0].match.host.equals'],
    [{ method: { equals: 'GET ' } }, '$.rules[0].match.method.equals'],
  ])('validate refuses %j at %s', async (match, path) => {
    const run = await runGraylane(['validate', file('bad.json', match)]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain(path);
  });

  it.each([
    [
      { host: { equals: 'API.Example.com' } },
      ['--host', 'api.example.com'],
      'equals "api.example.com": yes',
    ],
    [
      { host: { suffix: '.Example.COM' } },
      ['--host', 'www.example.com'],
      'ends with ".example.com": yes',
    ],
    [{ method: { equals: 'post' } }, ['--method', 'POST'], 'equals "POST": yes'],
    [{ method: { in: ['get', 'Post'] } }, ['--method', 'POST'], 'is one of "GET", "POST": yes'],
  ])('explain %j shows the value compared', async (match, flags, shown) => {
    const path = file('ok.json', match);
    expect((await runGraylane(['validate', path])).code).toBe(0);
    const run = await runGraylane(['explain', path, ...flags]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^version beta /);
    expect(run.stdout).toContain(shown);
  });
});
