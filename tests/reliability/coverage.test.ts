import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TOOL = fileURLToPath(new URL('../../tools/coverage-table.mjs', import.meta.url));

function runCheck(env: Record<string, string> = {}): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, [TOOL, '--check'], {
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, ...env },
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('coverage of RELIABILITY.md by test names', () => {
  it('tools/coverage-table.mjs --check: ≥ 95% of the RELIABILITY IDs appear in test names', () => {
    const { code, out } = runCheck();
    console.log(out.trim());
    expect(code, out).toBe(0);
    expect(out).toMatch(/^coverage: \d+\/\d+ RELIABILITY IDs/m);
  });

  it('--check fails below 95% (a spec whose IDs no test names)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-cov-'));
    try {
      const spec = join(dir, 'RELIABILITY.md');
      writeFileSync(spec, '| ID | x |\n|---|---|\n| ZZ-01 | a |\n| ZZ-02 | b |\n');
      const { code, out } = runCheck({ GRAYLANE_RELIABILITY_MD: spec });
      expect(code).toBe(1);
      expect(out).toMatch(/0\/2 RELIABILITY IDs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the ID list of docs/reliability.md when RELIABILITY.md is absent', () => {
    const { code, out } = runCheck({ GRAYLANE_RELIABILITY_MD: '/nonexistent/RELIABILITY.md' });
    expect(code).toBe(0);
    expect(out).toMatch(/RELIABILITY\.md not found/);
  });
});
