import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { TestModule } from 'vitest/node';
import SummaryReporter from '../../tools/vitest-summary-reporter.js';

/**
 * The closing "N passed, N failed, N skipped" line is what CI reads. A file whose tests all pass
 * but whose `afterAll` throws (how the setup guard fails a file with an unhandled rejection,
 * and how any suite-level hook failure looks) is a failed module: the line must not say 0 failed.
 */
function fakeModule(moduleState: string, testStates: string[]): TestModule {
  const tests = testStates.map((state) => ({ result: () => ({ state }) }));
  return {
    state: () => moduleState,
    children: { allTests: () => tests[Symbol.iterator]() },
  } as unknown as TestModule;
}

function summaryLine(modules: TestModule[]): string {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  // These fake runs must not reach CI's own summary file (they would add their counts to it).
  vi.stubEnv('GRAYLANE_SUMMARY_FILE', '');
  try {
    new SummaryReporter().onTestRunEnd(modules, []);
    return String(write.mock.calls.at(-1)?.[0] ?? '').trim();
  } finally {
    vi.unstubAllEnvs();
    write.mockRestore();
  }
}

/**
 * Runs the reporter on `modules` with a summary file of its own: what it printed, its last
 * line, and the JSON line it appended to the file.
 */
function report(
  modules: TestModule[],
  unhandled: unknown[] = [],
): { out: string; last: string; line: Record<string, unknown> } {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const dir = mkdtempSync(join(tmpdir(), 'graylane-summary-'));
  const file = join(dir, 'summary.jsonl');
  vi.stubEnv('GRAYLANE_SUMMARY_FILE', file);
  try {
    new SummaryReporter().onTestRunEnd(modules, unhandled);
    return {
      out: write.mock.calls.map((c) => String(c[0])).join(''),
      last: String(write.mock.calls.at(-1)?.[0]).trim(),
      line: JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>,
    };
  } finally {
    vi.unstubAllEnvs();
    write.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tools/vitest-summary-reporter.ts closing line', () => {
  it('counts passed, failed and skipped tests', () => {
    expect(summaryLine([fakeModule('passed', ['passed', 'passed', 'skipped'])])).toBe(
      '2 passed, 0 failed, 1 skipped',
    );
    expect(summaryLine([fakeModule('failed', ['passed', 'failed'])])).toBe(
      '1 passed, 1 failed, 0 skipped',
    );
  });

  // A module that failed in a suite-level hook (afterAll/beforeAll throwing, e.g. the setup guard
  // failing a file for an unhandled rejection) while all its tests passed counts as one failure.
  it('a module that failed in afterAll while its tests passed counts as failed', () => {
    expect(summaryLine([fakeModule('failed', ['passed', 'passed'])])).toMatch(/ [1-9]\d* failed/);
  });

  // The slowest files are listed before the closing line, which stays the last one written.
  it('lists the slowest files, slowest first, and still closes with the summary line', () => {
    const timed = (id: string, ms: number): TestModule =>
      ({
        ...fakeModule('passed', ['passed']),
        moduleId: `${process.cwd()}/${id}`,
        diagnostic: () => ({ duration: ms }),
      }) as unknown as TestModule;
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.stubEnv('GRAYLANE_SUMMARY_FILE', '');
    try {
      new SummaryReporter().onTestRunEnd([timed('a.test.ts', 1200), timed('b.test.ts', 45000)], []);
      const out = write.mock.calls.map((c) => String(c[0])).join('');
      expect(out).toMatch(/45\.0 s {2}b\.test\.ts\n {5}1\.2 s {2}a\.test\.ts\n/);
      expect(String(write.mock.calls.at(-1)?.[0]).trim()).toBe('2 passed, 0 failed, 0 skipped');
    } finally {
      vi.unstubAllEnvs();
      write.mockRestore();
    }
  });

  // The failed tests are named before the closing line (file, full name, the error's first line),
  // and carried in the summary file, so a CI log read from its end says which test broke.
  it('names the failed tests and failed modules, bounded, before the closing line', () => {
    const failing = (id: string, names: string[]): TestModule =>
      ({
        moduleId: `${process.cwd()}/${id}`,
        state: () => 'failed',
        errors: () => [],
        children: {
          allTests: () => {
            const tests = names.map((fullName) => ({
              fullName,
              result: () => ({
                state: 'failed',
                errors: [{ name: 'AssertionError', message: `${fullName} broke\nstack` }],
              }),
            }));
            return tests[Symbol.iterator]();
          },
        },
      }) as unknown as TestModule;
    const hookFailed = {
      ...fakeModule('failed', ['passed']),
      moduleId: `${process.cwd()}/hook.test.ts`,
      errors: () => [{ name: 'Error', message: 'afterAll threw' }],
    } as unknown as TestModule;
    const many = Array.from({ length: 25 }, (_, i) => `row ${i}`);
    const { out, last, line } = report(
      [failing('a.test.ts', ['suite > one']), hookFailed, failing('b.test.ts', many)],
      [new Error('late rejection')],
    );
    expect(out).toContain(
      '\nfailed:\n  a.test.ts > suite > one: AssertionError: suite > one broke\n',
    );
    expect(out).toContain('  hook.test.ts: Error: afterAll threw\n');
    expect(out).not.toContain('stack');
    expect(out).toContain('… and 8 more');
    expect(last).toBe('1 passed, 28 failed, 0 skipped');
    const failures = line['failures'] as string[];
    expect(failures).toHaveLength(20);
    expect(failures[0]).toBe('a.test.ts > suite > one: AssertionError: suite > one broke');
    expect(failures[1]).toBe('hook.test.ts: Error: afterAll threw');
  });

  it('names a test that passed only on retry as flaky, counted as passed', () => {
    const flakyModule = {
      moduleId: `${process.cwd()}/f.test.ts`,
      state: () => 'passed',
      children: {
        allTests: () =>
          [
            {
              fullName: 'row 1',
              result: () => ({
                state: 'passed',
                errors: [{ name: 'Error', message: 'timed out' }],
              }),
              diagnostic: () => ({ flaky: true }),
            },
            {
              fullName: 'row 2',
              result: () => ({ state: 'passed', errors: undefined }),
              diagnostic: () => ({ flaky: false }),
            },
          ][Symbol.iterator](),
      },
    } as unknown as TestModule;
    const { out, last, line } = report([flakyModule]);
    expect(out).toContain('passed only on retry (flaky):\n  f.test.ts > row 1: Error: timed out\n');
    expect(out).not.toContain('row 2');
    expect(last).toBe('2 passed, 0 failed, 0 skipped');
    expect(line['flaky']).toEqual(['f.test.ts > row 1: Error: timed out']);
  });

  it("ci-summary prints each run's failed tests under its line and closes with the totals", () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-summary-'));
    const file = join(dir, 'summary.jsonl');
    try {
      writeFileSync(
        file,
        `${JSON.stringify({ label: 'node 20', passed: 3, failed: 1, skipped: 0, failures: ['x.test.ts > y: Error: z'] })}\n` +
          `${JSON.stringify({ label: 'node 24', passed: 2, failed: 0, skipped: 1, flaky: ['f.test.ts > r: Error: t'] })}\n`,
      );
      const run = spawnSync(process.execPath, ['tools/ci-summary.mjs', file, 'lint'], {
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain(
        '[ci]   node 20: 3 passed, 1 failed, 0 skipped\n[ci]     ✗ x.test.ts > y: Error: z\n[ci]   node 24',
      );
      expect(run.stdout).toContain(
        '[ci]   node 24: 2 passed, 0 failed, 1 skipped\n[ci]     ~ flaky, passed on retry: f.test.ts > r: Error: t\n',
      );
      expect(run.stdout.trim().split('\n').at(-1)).toBe('5 passed, 2 failed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
