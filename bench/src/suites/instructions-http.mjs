// The framework adapters' cost over real HTTP as instructions per request (issue 20): on this
// 2-core VM the timed ratios of suites/middleware.mjs spread 0.6–1.9× per round, so a 1.10× goal
// cannot be told from noise there. Here every server (servers/http-server.mjs, the same servers)
// runs under valgrind's callgrind with V8's `--predictable`; this process sends it requests one
// at a time on one keep-alive connection, warms it up, then asks callgrind for a dump after each
// window of requests (`callgrind_control --dump`), so every window is a round: the per-window
// ratio to the bare framework on the same Node is judged like a timed round (lib/stats.mjs).
// Counted: the server's user-space instructions (JIT code, V8's runtime and GC, Node, libuv,
// libc); not counted: the kernel's share of each request (socket reads and writes, epoll), cache
// misses and stalls. The kernel's share is the same with and without graylane, so leaving it out
// makes every ratio larger than the CPU-time ratio, never smaller. Needs `valgrind` and
// `callgrind_control` on PATH; quick runs skip it.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchNodes } from '../lib/nodes.mjs';
import { pool } from '../lib/pool.mjs';
import { silentProgress } from '../lib/progress.mjs';
import { fmtRatio, median, ratioGoal } from '../lib/stats.mjs';
import { FRAMEWORKS, goalFor } from './middleware.mjs';

const SERVER = fileURLToPath(new URL('../servers/http-server.mjs', import.meta.url));
const exec = promisify(execFile);
const numberFlag = (name, fallback) => {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
};
/**
 * `--node-flags="--a --b"`: V8/Node flags for every server (e.g. Node 22's
 * `--experimental-async-context-frame`), printed with the results.
 */
const NODE_FLAGS = (
  process.argv.find((a) => a.startsWith('--node-flags='))?.slice('--node-flags='.length) ?? ''
)
  .split(' ')
  .filter(Boolean);
const VARIANTS = [
  ['', 'bare'],
  ['+als', '`AsyncLocalStorage.run` only'],
  ['+graylane', 'header marker'],
  ['+graylane-rules', 'no marker (10 rules decide)'],
];
const label = (fwLabel, suffix, what) =>
  !suffix ? fwLabel : suffix === '+als' ? `${fwLabel} + ${what}` : `${fwLabel} + graylane, ${what}`;

function hasCallgrind() {
  const v = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  const c = spawnSync('callgrind_control', ['--version'], { encoding: 'utf8' });
  return v.status === 0 && c.status === 0 ? v.stdout.trim() : undefined;
}

/** One GET on the keep-alive `agent`; rejects on anything but 200. */
function get(port, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        agent,
        headers: { 'x-gray-id': 'beta', 'x-user-id': 'user-4711' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs one server under callgrind: `warm` requests, then `windows` windows of `size` requests,
 * each followed by a dump. Resolves with the instructions per request of every window.
 */
async function measure(node, kind, { warm, size, windows }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'graylane-cg-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dir}/cg.out`,
      node.path,
      ...NODE_FLAGS,
      // V8's deterministic mode (no concurrent GC or compilation, no timing-driven heuristics).
      '--predictable',
      SERVER,
      kind,
    ],
    {
      cwd: path.dirname(SERVER),
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  /** Asks callgrind to dump and returns the instructions since the previous dump. */
  const dump = async () => {
    const before = new Set(readdirSync(dir));
    await exec('callgrind_control', ['--dump', String(child.pid)]);
    const file = readdirSync(dir).find((f) => !before.has(f));
    if (!file) throw new Error(`${kind}: callgrind wrote no dump`);
    const m = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(path.join(dir, file), 'utf8'));
    if (!m) throw new Error(`${kind}: no totals in ${file}`);
    rmSync(path.join(dir, file));
    return Number(m[1]);
  };
  try {
    const [{ port }] = await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`callgrind ${kind} exited ${code}: ${err.slice(-400)}`);
      }),
    ]);
    for (let i = 0; i < warm; i++) await get(port, agent);
    await dump();
    const perRequest = [];
    for (let w = 0; w < windows; w++) {
      for (let i = 0; i < size; i++) await get(port, agent);
      perRequest.push((await dump()) / size);
    }
    return perRequest;
  } finally {
    agent.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      if (child.connected) child.send('exit', () => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const k = (x) => `${(x / 1000).toFixed(1)} k`;

export async function run({ quick, progress = silentProgress }) {
  const warm = numberFlag('warm', 4000);
  const size = numberFlag('window', 1500);
  const windows = numberFlag('windows', 7);
  const nodes = benchNodes({ quick });
  const only = process.argv
    .find((a) => a.startsWith('--frameworks='))
    ?.slice(13)
    .split(',');
  const frameworks = FRAMEWORKS.filter(([fw]) => !only || only.includes(fw));
  // --variants=bare,+als: a subset of the rows (the bare one is always run: it is the baseline).
  const picked = process.argv
    .find((a) => a.startsWith('--variants='))
    ?.slice(11)
    .split(',');
  const variants = VARIANTS.filter(([suffix]) => !suffix || !picked || picked.includes(suffix));
  const base = {
    id: 'instructions-http',
    title: `Framework adapters over HTTP: server instructions per request (valgrind callgrind, V8 --predictable, one keep-alive connection, ${warm} warm-up requests, then ${windows} windows × ${size} requests${NODE_FLAGS.length ? `, servers run with \`${NODE_FLAGS.join(' ')}\`` : ''})`,
    header: ['server', ...nodes.flatMap((n) => [`${n.label} instr/req`, `${n.label} vs bare`])],
    rows: [],
    goals: [],
  };
  const valgrind = hasCallgrind();
  if (quick || !valgrind)
    return {
      ...base,
      notes: quick
        ? 'Skipped in quick runs.'
        : 'Skipped: valgrind / callgrind_control is not installed.',
    };

  const candidates = nodes.flatMap((node) =>
    frameworks.flatMap(([fw]) =>
      variants.map(([suffix]) => ({ node, fw, kind: `${fw}${suffix}` })),
    ),
  );
  progress.plan(candidates.length, 'callgrind');
  const results = await pool(
    candidates.map((c) => async () => {
      progress.detail(`callgrind · ${c.kind} (${c.node.label})`);
      const perRequest = await measure(c.node, c.kind, { warm, size, windows });
      progress.advance(1);
      return perRequest;
    }),
  );
  const byKey = new Map(candidates.map((c, i) => [`${c.kind}@${c.node.major}`, results[i]]));
  /** Per-window ratios of `kind` to `baseKind` on `node` (window i against window i). */
  const ratios = (kind, baseKind, node) => {
    const own = byKey.get(`${kind}@${node.major}`);
    const base = byKey.get(`${baseKind}@${node.major}`);
    return own.map((x, i) => x / base[i]);
  };

  const rows = [];
  const shareRows = [];
  for (const [fw, fwLabel] of frameworks)
    for (const [suffix, what] of variants) {
      const kind = `${fw}${suffix}`;
      rows.push([
        label(fwLabel, suffix, what),
        ...nodes.flatMap((node) => [
          k(median(byKey.get(`${kind}@${node.major}`))),
          suffix ? fmtRatio(ratios(kind, fw, node)) : '1.00×',
        ]),
      ]);
      // graylane's own share: each graylane row against the ALS-only server of its framework.
      if (suffix.startsWith('+graylane') && variants.some(([v]) => v === '+als'))
        shareRows.push([
          label(fwLabel, suffix, what),
          ...nodes.map((node) => fmtRatio(ratios(kind, `${fw}+als`, node))),
        ]);
    }
  const goals = [];
  for (const node of nodes)
    for (const [fw, fwLabel] of frameworks)
      for (const [suffix, what] of variants.filter(([v]) => v.startsWith('+graylane'))) {
        const t = goalFor(node.major);
        goals.push(
          ratioGoal(
            `${fwLabel} + graylane (${what}) ≤ ${t}× bare, instructions, ${node.label}`,
            ratios(`${fw}${suffix}`, fw, node),
            t,
          ),
        );
      }
  const versions = nodes.map((n) => `${n.label} = ${n.version}`).join(', ');
  return {
    ...base,
    rows,
    tables: shareRows.length
      ? [
          {
            title:
              "graylane's own share: each graylane server against the `AsyncLocalStorage.run`-only server of its framework (the framework's cost of a middleware, and ALS's, taken out)",
            header: ['server', ...nodes.map((n) => `${n.label} vs ALS only`)],
            rows: shareRows,
          },
        ]
      : [],
    goals,
    notes:
      `${versions}. instr/req: the median over windows of the server's user-space instructions per request (k = thousands); every ratio is the median (min–max) of the per-window ratios to the bare framework on the same Node (window i against window i). ` +
      `Not counted: the kernel's share of each request, which is the same with and without graylane, so these ratios are an upper bound on the CPU-time ratios. A window with a major GC or a late compilation stands out as a high ratio in one direction; the median is the steady state. ${valgrind}.`,
  };
}
