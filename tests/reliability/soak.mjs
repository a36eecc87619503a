// `npm run soak`: the long runs of RELIABILITY §7 against the built packages.
//   LD-04  1,000,000 requests (SOAK_LD04_REQUESTS), 100 keep-alive connections, random markers,
//          two hops (client → A → B), 0 mismatches.
//   LD-05  SOAK_SECONDS (default 1800) of traffic on the same topology at about half the LD-01
//          concurrency (25 connections); after a warm-up (2 min, or 10% of a shorter run) the
//          heap after GC may grow at most 5%; open handles stay stable; decision series stay
//          ≤ #markers + 1 per hop.
// Prints one verdict line and exits non-zero on failure.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (typeof globalThis.gc !== 'function') {
  // Re-run with --expose-gc so heap readings are after a full collection.
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const { runIsolation, startTwoHop, VERSIONS } = await import('./two-hop.mjs');

const LD04_REQUESTS = Number(process.env.SOAK_LD04_REQUESTS ?? 1_000_000);
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 1800);
const WARMUP_SECONDS = Math.min(120, Math.max(1, Math.floor(SOAK_SECONDS / 10)));
const SAMPLE_EVERY_MS = Math.max(1_000, Math.min(10_000, (SOAK_SECONDS * 1000) / 30));
const MAX_HEAP_GROWTH = 0.05;
const MAX_HANDLE_GROWTH = 5;

const log = (line) => process.stderr.write(`[soak] ${line}\n`);
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
const heapAfterGc = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const failures = [];
const parts = [];

// LD-04
{
  const topo = await startTwoHop();
  log(`LD-04: ${LD04_REQUESTS.toLocaleString('en')} requests over 100 connections…`);
  const r = await runIsolation({
    url: topo.url,
    total: LD04_REQUESTS,
    connections: 100,
    onProgress: (s) =>
      s.sent % 100_000 === 0 && log(`LD-04: ${s.sent} sent, ${s.mismatches} mismatches`),
  });
  await topo.close();
  parts.push(
    `LD-04 ${r.sent} req ${r.mismatches} mismatches ${r.errors + r.non2xx} errors ${Math.round(r.rps)} req/s`,
  );
  if (r.mismatches > 0)
    failures.push(`LD-04 ${r.mismatches} mismatches (${r.examples.join('; ')})`);
  if (r.errors + r.non2xx > 0) failures.push(`LD-04 ${r.errors} errors, ${r.non2xx} non-2xx`);
  if (r.sent < LD04_REQUESTS) failures.push(`LD-04 sent ${r.sent} < ${LD04_REQUESTS}`);
}

// LD-05
{
  const topo = await startTwoHop();
  const end = Date.now() + SOAK_SECONDS * 1000;
  const warmEnd = Date.now() + WARMUP_SECONDS * 1000;
  log(
    `LD-05: ${SOAK_SECONDS} s soak, ${WARMUP_SECONDS} s warm-up, heap sampled every ${SAMPLE_EVERY_MS} ms`,
  );
  const samples = [];
  let handlesAtWarm;
  const sampler = setInterval(() => {
    if (Date.now() < warmEnd) return;
    const heap = heapAfterGc();
    samples.push(heap);
    handlesAtWarm ??= handles();
    log(`LD-05: heap ${mib(heap)}, handles ${handles()}`);
  }, SAMPLE_EVERY_MS);
  const r = await runIsolation({ url: topo.url, connections: 25, until: () => Date.now() >= end });
  clearInterval(sampler);
  const handlesAtEnd = handles();
  const stats = topo.stats();
  await topo.close();
  const n = Math.min(3, Math.floor(samples.length / 2));
  const first = n > 0 ? median(samples.slice(0, n)) : NaN;
  const last = n > 0 ? median(samples.slice(-n)) : NaN;
  const growth = (last - first) / first;
  const series = (s) => new Set(s.decisions.map((d) => d.version)).size;
  parts.push(
    `LD-05 ${SOAK_SECONDS}s ${r.sent} req heap ${mib(first)}→${mib(last)} (${(growth * 100).toFixed(1)}%) ` +
      `handles ${handlesAtWarm}→${handlesAtEnd} series ${series(stats.a)}/${series(stats.b)}`,
  );
  if (!(n > 0)) failures.push('LD-05 too few heap samples (run longer)');
  else if (!(growth <= MAX_HEAP_GROWTH))
    failures.push(`LD-05 heap grew ${(growth * 100).toFixed(1)}% > 5%`);
  if (handlesAtWarm !== undefined && handlesAtEnd - handlesAtWarm > MAX_HANDLE_GROWTH)
    failures.push(`LD-05 open handles ${handlesAtWarm} → ${handlesAtEnd}`);
  for (const [hop, s] of Object.entries(stats))
    if (series(s) > VERSIONS.length + 1)
      failures.push(`LD-05 hop ${hop}: ${series(s)} version series`);
  if (r.mismatches + r.errors + r.non2xx > 0)
    failures.push(`LD-05 ${r.mismatches} mismatches, ${r.errors} errors, ${r.non2xx} non-2xx`);
}

const verdict = failures.length === 0 ? 'PASS' : 'FAIL';
process.stdout.write(
  `SOAK ${verdict}: ${parts.join('; ')}${failures.length ? ` — ${failures.join('; ')}` : ''}\n`,
);
process.exitCode = failures.length === 0 ? 0 : 1;
