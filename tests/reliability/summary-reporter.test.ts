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
});
