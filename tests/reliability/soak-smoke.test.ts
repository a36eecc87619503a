import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SOAK = fileURLToPath(new URL('./soak.mjs', import.meta.url));

/**
 * Keeps `npm run soak` from rotting between nightly runs: the script runs end to end with tiny
 * settings and prints exactly one verdict line. The verdict itself is not asserted here (a 5 s
 * heap reading is noise); the isolation part must still show 0 mismatches.
 */
describe('npm run soak (smoke)', () => {
  it('soak.mjs runs end to end with tiny settings and prints one verdict line', async () => {
    const child = spawn(process.execPath, [SOAK], {
      env: { ...process.env, SOAK_SECONDS: '5', SOAK_LD04_REQUESTS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^SOAK (PASS|FAIL): LD-04 1000 req 0 mismatches 0 errors /);
    expect(lines[0]).toMatch(/; LD-05 5s \d+ req heap /);
    expect(code).toBe(lines[0]?.startsWith('SOAK PASS') ? 0 : 1);
  }, 120_000);
});
