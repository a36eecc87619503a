import { appendFileSync, writeFileSync } from 'node:fs';
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
    // What failed, named, so a CI log read from its end says which test broke and why.
    const failures: string[] = [];
    // Tests that failed and then passed on CI's one retry (vitest.config.ts): counted as passed,
    // named apart, so a flaky row is seen and fixed, not hidden.
    const flaky: string[] = [];
    for (const mod of testModules) {
      let failedHere = 0;
      const file = nameOf(mod);
      for (const test of mod.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') {
          passed++;
          if (test.diagnostic?.()?.flaky === true) {
            flaky.push(`${file} > ${test.fullName}: ${firstLine(result.errors?.[0])}`);
          }
        } else if (result.state === 'failed') {
          failedHere++;
          failures.push(`${file} > ${test.fullName}: ${firstLine(result.errors?.[0])}`);
        } else skipped++;
      }
      // A module that failed without a failed test — it could not load, or a suite-level hook
      // (beforeAll/afterAll) threw — is a failure too, or the line would say 0 failed while
      // vitest exits 1.
      if (mod.state() === 'failed' && failedHere === 0) {
        failedHere = 1;
        failures.push(`${file}: ${firstLine(mod.errors?.()[0])}`);
      }
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    for (const error of unhandledErrors) failures.push(`unhandled: ${firstLine(error)}`);
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
    // `GRAYLANE_DURATIONS_FILE=tools/test-durations.json npm test` records the order the next
    // clean run starts files in (tools/vitest-sequencer.ts): every file, slowest first.
    const durations = process.env['GRAYLANE_DURATIONS_FILE'];
    if (durations) {
      const rows = [...testModules]
        .map((mod) => [nameOf(mod), Math.round(mod.diagnostic().duration / 100) * 100] as const)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      writeFileSync(durations, `${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
    }
    list('passed only on retry (flaky)', flaky);
    list('failed', failures);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    const file = process.env['GRAYLANE_SUMMARY_FILE'];
    if (file) {
      const label = process.env['GRAYLANE_SUMMARY_LABEL'] ?? `node ${process.versions.node}`;
      const line = {
        label,
        passed,
        failed,
        skipped,
        failures: failures.slice(0, MAX_FAILURES),
        flaky: flaky.slice(0, MAX_FAILURES),
      };
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    }
  }
}

const MAX_FAILURES = 20;

function list(title: string, lines: readonly string[]): void {
  if (lines.length === 0) return;
  process.stdout.write(`\n${title}:\n`);
  for (const line of lines.slice(0, MAX_FAILURES)) process.stdout.write(`  ${line}\n`);
  if (lines.length > MAX_FAILURES) {
    process.stdout.write(`  … and ${lines.length - MAX_FAILURES} more\n`);
  }
}

function nameOf(mod: TestModule): string {
  return typeof mod.moduleId === 'string' ? relative(process.cwd(), mod.moduleId) : '?';
}

/** An error's first line, bounded: enough to tell one failure from another in a log's tail. */
function firstLine(error: unknown): string {
  let text: string;
  if (error && typeof error === 'object' && 'message' in error) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    text = `${typeof name === 'string' ? `${name}: ` : ''}${String(message)}`;
  } else {
    text = String(error);
  }
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 240 ? `${line.slice(0, 240)}…` : line;
}
