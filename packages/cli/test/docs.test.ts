import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** Runs every `$ graylane …` line of docs/cli.md and compares the output shown under it. */
const DOC = fileURLToPath(new URL('../../../docs/cli.md', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const shim = mkdtempSync(join(tmpdir(), 'graylane-shim-'));
writeFileSync(join(shim, 'graylane'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
chmodSync(join(shim, 'graylane'), 0o755);
afterAll(() => rmSync(shim, { recursive: true, force: true }));

interface Example {
  command: string;
  expected: string[];
}
function examples(): Example[] {
  const out: Example[] = [];
  const blocks = readFileSync(DOC, 'utf8').match(/```console\n([\s\S]*?)```/g) ?? [];
  for (const block of blocks) {
    for (const line of block.split('\n').slice(1, -1)) {
      if (line.startsWith('$ ')) out.push({ command: line.slice(2), expected: [] });
      else out.at(-1)?.expected.push(line);
    }
  }
  return out;
}

function run(command: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      {
        cwd: EXAMPLES,
        env: { ...process.env, PATH: `${shim}:${process.env['PATH']}`, NO_COLOR: '1' },
        timeout: 20_000,
      },
      (_err, stdout) => resolve(stdout),
    );
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/cli.md examples', () => {
  const all = examples();
  it('has examples for every command', () => {
    for (const c of ['validate', 'explain', 'sign', 'verify', 'bucket', 'diff', 'render', 'push']) {
      expect(all.some((e) => e.command.startsWith(`graylane ${c}`))).toBe(true);
    }
  });
  it.each(all.map((e) => [e.command, e] as const))('$ %s', async (_c, example) => {
    const actual = (await run(example.command)).trimEnd().split('\n');
    const expected = example.expected;
    // A line that is just "…" stands for the rest of the output; "…" inside a line is a wildcard.
    const rest = expected.indexOf('…');
    const compared = rest === -1 ? actual : actual.slice(0, rest);
    expect(compared.length).toBe(rest === -1 ? expected.length : rest);
    compared.forEach((line, i) => {
      const pattern = new RegExp(`^${(expected[i] as string).split('…').map(escape).join('.+')}$`);
      expect(line).toMatch(pattern);
    });
  });
});
