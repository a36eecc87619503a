import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one closing line, `N passed, N failed, N skipped`, alone on a line.
 * CI reads this line; vitest's own summary is not a recognised format. When
 * `GRAYLANE_SUMMARY_FILE` is set, the counts are also appended to it as one JSON line, so
 * `.ci/run` can add up several runs (the Node matrix) into its own closing line.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A module that failed without a failed test — it could not load, or a suite-level hook
      // (beforeAll/afterAll) threw — is a failure too, or the line would say 0 failed while
      // vitest exits 1.
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    // The slowest files, so a CI run that nears its time limit says where the time went.
    try {
      const slowest = [...testModules]
        .map((mod) => ({ id: mod.moduleId, ms: mod.diagnostic().duration }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 15);
      if (slowest.length > 1) {
        process.stdout.write('\nslowest files (tests and hooks):\n');
        for (const { id, ms } of slowest) {
          const s = (ms / 1000).toFixed(1).padStart(6);
          process.stdout.write(`  ${s} s  ${relative(process.cwd(), id)}\n`);
        }
      }
    } catch {
      // A list that cannot be made must never cost the closing line.
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    const file = process.env['GRAYLANE_SUMMARY_FILE'];
    if (file) {
      const label = process.env['GRAYLANE_SUMMARY_LABEL'] ?? `node ${process.versions.node}`;
      appendFileSync(file, `${JSON.stringify({ label, passed, failed, skipped })}\n`);
    }
  }
}
