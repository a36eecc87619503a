// CI check: `bench:quick` still runs. Runs every suite in quick mode under a time limit and exits
// non-zero if the run times out or any suite errors. Missed goals are printed, not failed:
// benchmarks are not tests (issue 8). Expects the packages to be built (`npm run build`).
// Usage: node bench/src/check-quick.mjs [--timeout-ms=120000]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TIMEOUT_MS = Number(
  process.argv.find((a) => a.startsWith('--timeout-ms='))?.slice(13) ?? 120_000,
);
const runner = fileURLToPath(new URL('./run.mjs', import.meta.url));
const resultsFile = new URL('../results/quick.json', import.meta.url);
const startedAt = Date.now();

// Own process group, so a timeout stops the runner and every server it started.
const child = spawn(process.execPath, [runner, '--quick'], { stdio: 'inherit', detached: true });
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}, TIMEOUT_MS);
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? s)));
clearTimeout(timer);

const problems = [];
if (timedOut) problems.push(`bench:quick did not finish in ${TIMEOUT_MS} ms`);
else {
  const { meta, results } = JSON.parse(readFileSync(resultsFile, 'utf8'));
  if (Date.parse(meta.date) < startedAt) problems.push('bench:quick wrote no fresh results');
  for (const r of results) if (r.error) problems.push(`suite ${r.id} errored: ${r.error}`);
  if (code !== 0 && problems.length === 0) problems.push(`bench:quick exited with ${code}`);
  const missed = results.flatMap((r) => (r.goals ?? []).filter((g) => !g.pass));
  for (const g of missed)
    console.log(`[check-quick] goal missed (not a failure): ${g.name}: ${g.ratio}`);
}
for (const p of problems) console.error(`[check-quick] ${p}`);
console.log(
  `[check-quick] ${problems.length ? 'FAILED' : 'ok'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
);
process.exitCode = problems.length ? 1 : 0;
