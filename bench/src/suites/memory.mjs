// Memory: heap after GC at 20,000 and 200,000 requests through the graylane middleware (no growth
// beyond noise), and bytes allocated per request, graylane vs a bare node:http server, both in a
// child process with --expose-gc and an in-process keep-alive client.
import { once } from 'node:events';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { goal } from '../measure.mjs';

const CHILD = fileURLToPath(new URL('../servers/memory-child.mjs', import.meta.url));
const GOAL_RATIO = 1.05; // heap(200k) / heap(20k) after GC: growth within 5 % is noise
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

export async function run({ quick }) {
  const counts = quick ? [2_000, 20_000] : [20_000, 110_000, 200_000];
  const params = { counts, allocBatches: quick ? 3 : 9, allocBatchSize: 500 };
  const child = fork(CHILD, [JSON.stringify(params)], {
    execArgv: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), quick ? 60_000 : 240_000);
  let result;
  try {
    const [message] = await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code, signal]) => {
        throw new Error(`memory child exited with ${code ?? signal} before reporting`);
      }),
    ]);
    result = message;
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) {
      child.kill();
      await once(child, 'exit');
    }
  }
  const heaps = result.graylane.heaps;
  const first = heaps[0];
  const last = heaps[heaps.length - 1];
  const rows = heaps.map((h) => [
    `${h.requests.toLocaleString('en-US')} requests`,
    mib(h.heapUsed),
    `${h.heapUsed - first.heapUsed >= 0 ? '+' : ''}${((h.heapUsed - first.heapUsed) / 1024).toFixed(0)} KiB`,
  ]);
  const bare = result.bare.allocPerRequest;
  const gray = result.graylane.allocPerRequest;
  const allocRow = (label, v) => [
    label,
    v === null ? 'n/a (GC in every batch)' : `${Math.round(v)} B`,
    '',
  ];
  rows.push(
    allocRow('allocated per request, bare `node:http` (server + in-process client)', bare),
    allocRow('allocated per request, with graylane (server + in-process client)', gray),
    [
      'graylane’s own allocation per request',
      bare === null || gray === null ? 'n/a' : `${Math.round(gray - bare)} B`,
      '',
    ],
  );
  return {
    id: 'memory',
    title: 'Memory: graylane middleware heap after GC, and allocation per request',
    header: ['measure', 'value', 'growth since first'],
    rows,
    goals: [
      goal(
        `heap after ${last.requests.toLocaleString('en-US')} requests ≤ ${GOAL_RATIO}× heap after ${first.requests.toLocaleString('en-US')}`,
        last.heapUsed / first.heapUsed,
        GOAL_RATIO,
        '<=',
      ),
    ],
    notes:
      'Half the requests carry `X-Gray-Id: beta`, half are decided by the 10 rules on 1,000 distinct user ids; the client is a lean raw-socket keep-alive client (32 connections). Heap is `heapUsed` after three forced GCs. Allocation is the heap growth over a 500-request batch in which no GC ran (young generation enlarged to 64 MiB), median over batches; the client runs in the same process, so the bare row is the baseline and the difference is graylane’s.',
  };
}
