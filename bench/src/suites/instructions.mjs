// graylane's instructions per request, counted by valgrind's callgrind (issue 20): on this
// 2-core VM CPU-time ratios of 1.1× are within the noise of a single round, but an instruction
// count of the same work is the same run after run. Each candidate runs N1 and N2 requests in
// a child under callgrind (servers/instructions-child.mjs); per request = (I(N2) − I(N1)) /
// (N2 − N1), so start-up cancels out. N1 is past the JIT's warm-up: counted from 2,000 requests,
// tier-up compilations still fall inside the difference (a koa-shaped request read 37.9 k
// between 2,000 and 8,000 requests and 19.7 k between 20,000 and 38,000 on Node 24), and the
// span is long enough to average the odd major GC (one lands in some 4,000-request spans). Counted: JIT code, V8's runtime (IC
// misses, map transitions), GC and libc; not counted: cache misses and stalls, so it is a
// measure of work, not of time. V8 runs with `--predictable`, so two runs of the same candidate
// agree within a few hundred instructions. Needs `valgrind` on PATH; quick runs skip it.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchNodes } from '../lib/nodes.mjs';
import { pool } from '../lib/pool.mjs';
import { silentProgress } from '../lib/progress.mjs';

const CHILD = fileURLToPath(new URL('../servers/instructions-child.mjs', import.meta.url));
const N1 = 12000;
const N2 = 28000;
const CANDIDATES = [
  ['plain', 'bare'],
  ['plain', 'header'],
  ['plain', 'rules'],
  ['express', 'bare'],
  ['express', 'header'],
  ['koa', 'bare'],
  ['koa', 'header'],
];

function hasValgrind() {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Instructions callgrind collected for one child run. */
function count(node, shape, candidate, n) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        node.path,
        // V8's deterministic mode (no concurrent GC or compilation, no timing-driven heuristics):
        // without it two identical runs differ by ~2.5 k instructions per request.
        '--predictable',
        CHILD,
        shape,
        candidate,
        String(n),
      ],
      { env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const m = /Collected\s*:\s*(\d+)/.exec(err);
      if (code === 0 && m) resolve(Number(m[1]));
      else
        reject(
          new Error(`callgrind ${shape} ${candidate} ${n} exited ${code}: ${err.slice(-400)}`),
        );
    });
  });
}

const k = (x) => `${(x / 1000).toFixed(1)} k`;

export async function run({ quick, progress = silentProgress }) {
  const base = {
    id: 'instructions',
    title: `graylane's instructions per request (valgrind callgrind, ${N2} − ${N1} requests, real IncomingMessage/ServerResponse, Node's events emitted from the root context)`,
    header: [
      'Node',
      'bare, plain request',
      '+ graylane, header marker',
      '+ graylane, 10 rules decide',
      'bare, express-shaped request',
      '+ graylane, header marker',
      'bare, koa-shaped request',
      '+ graylane, header marker',
    ],
    goals: [],
  };
  const valgrind = hasValgrind();
  if (quick || !valgrind)
    return {
      ...base,
      rows: [],
      notes: quick ? 'Skipped in quick runs.' : 'Skipped: valgrind is not installed.',
    };
  const nodes = benchNodes({ quick });
  progress.plan(nodes.length, 'instructions');
  const rows = [];
  for (const node of nodes) {
    progress.detail(`instructions (${node.label})`);
    const jobs = CANDIDATES.flatMap(([shape, candidate]) =>
      [N1, N2].map((n) => () => count(node, shape, candidate, n)),
    );
    const counts = await pool(jobs);
    const perRequest = CANDIDATES.map((_, i) => (counts[2 * i + 1] - counts[2 * i]) / (N2 - N1));
    const [plain, header, rules, express, expressHeader, koa, koaHeader] = perRequest;
    rows.push([
      node.label,
      k(plain),
      `+${k(header - plain)}`,
      `+${k(rules - plain)}`,
      k(express),
      `+${k(expressHeader - express)}`,
      k(koa),
      `+${k(koaHeader - koa)}`,
    ]);
    progress.advance(1);
  }
  return {
    ...base,
    rows,
    notes: `Instructions per request (k = thousands); graylane columns are the difference to the bare column of the same shape. ${valgrind}. A measure of work, not time: cache misses and stalls are not counted.`,
  };
}
