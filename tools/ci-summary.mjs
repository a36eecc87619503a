#!/usr/bin/env node
// Adds up the test runs recorded in a summary file (one JSON line per run, written by
// tools/vitest-summary-reporter.ts or by a runner that prints `N passed, N failed`) plus the CI
// steps that failed outside any test run, and prints CI's closing line: `N passed, N failed`.
//
//   node tools/ci-summary.mjs <summary.jsonl> [failed-step …]
import { existsSync, readFileSync } from 'node:fs';

const [file, ...failedSteps] = process.argv.slice(2);
const runs = [];
if (file && existsSync(file)) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      runs.push(JSON.parse(line));
    } catch {
      runs.push({
        label: `unreadable summary line ${JSON.stringify(line.slice(0, 80))}`,
        passed: 0,
        failed: 1,
        skipped: 0,
      });
    }
  }
}
let passed = 0;
let failed = 0;
console.log('\n[ci] summary');
for (const r of runs) {
  passed += r.passed;
  failed += r.failed;
  console.log(
    `[ci]   ${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped ?? 0} skipped`,
  );
  // The failed tests by name (the reporter keeps the first 20), so the log's tail says which.
  for (const name of Array.isArray(r.failures) ? r.failures : []) {
    console.log(`[ci]     ✗ ${String(name)}`);
  }
  // Passed on CI's one retry: counted as passed, named so a flaky row gets fixed.
  for (const name of Array.isArray(r.flaky) ? r.flaky : []) {
    console.log(`[ci]     ~ flaky, passed on retry: ${String(name)}`);
  }
}
for (const step of failedSteps) {
  failed += 1;
  console.log(`[ci]   step failed: ${step}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || runs.length === 0 ? 1 : 0;
