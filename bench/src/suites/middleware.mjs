// Middleware overhead per framework and Node version. Every server runs in its own child process
// (forked with the Node binary under test, NODE_ENV=production) and reports its own
// process.cpuUsage() delta, so the figure is server CPU µs per request; autocannon in this process
// is the load generator. Each round measures every server once (order alternating), so every
// ratio is taken within a round against the baseline measured in the same round; a goal is judged
// on the spread of those per-round ratios (lib/stats.mjs).
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, stopChild } from '../lib/child.mjs';
import { benchNodes } from '../lib/nodes.mjs';
import { silentProgress } from '../lib/progress.mjs';
import { fmtRatio, median, ratioGoal } from '../lib/stats.mjs';

const SERVER = fileURLToPath(new URL('../servers/http-server.mjs', import.meta.url));
const CONNECTIONS = 50;
/** Goals (issue 20): ≤ 1.10× the bare framework on Node 24+, ≤ 1.20× on Node 20 and 22. */
export const goalFor = (major) => (major >= 24 ? 1.1 : 1.2);

export const FRAMEWORKS = [
  ['http', '`node:http`'],
  ['express', 'express 5'],
  ['koa', 'koa 3'],
  ['fastify', 'fastify 5'],
  ['hono', 'hono 4 (`@hono/node-server`)'],
];
const VARIANTS = [
  ['', 'bare'],
  ['+als', '+ `AsyncLocalStorage.run` only'],
  ['+graylane', '+ graylane, header marker'],
  ['+graylane-rules', '+ graylane, no marker (10 rules decide)'],
];
/** Rows for scale, on the runner's Node only: [kind, label, baseline]. */
const EXTRAS = [
  ['http+graylane+otel', '`node:http` + graylane, OTel context manager + tracer active', 'http'],
  ['http+otel-instr', '`node:http` + OTel `HttpInstrumentation` (for scale)', 'http'],
];
/** Quick (CI smoke): every adapter with a header marker next to its bare framework. */
const QUICK = new Set(FRAMEWORKS.flatMap(([fw]) => [fw, `${fw}+graylane`]));

const numberFlag = (name, fallback) => {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
};

async function load(port, seconds) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'x-gray-id': 'beta', 'x-user-id': 'user-4711' },
  });
  return {
    ok: result['2xx'],
    bad: result.non2xx + result.errors + result.timeouts,
    rps: result['2xx'] / seconds,
    p99: result.latency.p99,
  };
}

/** The servers to run: one per framework × variant × Node, plus the extras on the runner's Node. */
function plan(nodes, quick) {
  const servers = [];
  for (const node of nodes)
    for (const [fw, fwLabel] of FRAMEWORKS)
      for (const [suffix, vLabel] of VARIANTS)
        servers.push({
          kind: `${fw}${suffix}`,
          framework: fw,
          label: suffix ? `${fwLabel} ${vLabel}` : fwLabel,
          base: fw,
          node,
        });
  const own = nodes.find((n) => n.path === process.execPath) ?? nodes[0];
  for (const [kind, label, base] of EXTRAS)
    servers.push({ kind, framework: 'http', label, base, node: own });
  for (const s of servers) s.id = `${s.kind}@${s.node.major}`;
  // --frameworks=http,express: only those frameworks' rows (profiling, before/after checks).
  const only = process.argv
    .find((a) => a.startsWith('--frameworks='))
    ?.slice(13)
    .split(',');
  const picked = only ? servers.filter((s) => only.includes(s.framework)) : servers;
  return quick ? picked.filter((s) => QUICK.has(s.kind)) : picked;
}

export async function run({ quick, progress = silentProgress }) {
  const nodes = benchNodes({ quick });
  const seconds = numberFlag('seconds', quick ? 0.5 : 1);
  const rounds = numberFlag('rounds', quick ? 1 : 11);
  const servers = plan(nodes, quick);
  const children = new Map();
  const samples = new Map(servers.map((s) => [s.id, []]));
  try {
    progress.detail(
      `starting ${servers.length} servers on ${nodes.map((n) => n.label).join(', ')}`,
    );
    const started = await Promise.allSettled(
      servers.map(async (s) => {
        const { child, first } = await forkReady(SERVER, [s.kind], {
          execPath: s.node.path,
          env: { ...process.env, NODE_ENV: 'production' },
          timeoutMs: 60_000,
        });
        children.set(s.id, { child, port: first.port });
      }),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    // Warm-up pass (JIT, connection setup), not recorded.
    progress.plan(servers.length, 'warm-up');
    for (const s of servers) {
      progress.detail(`warm-up · ${s.kind} (${s.node.label})`);
      await load(children.get(s.id).port, quick ? 0.2 : 1);
      progress.advance(1);
    }
    progress.plan(rounds * servers.length, 'run');
    for (let r = 0; r < rounds; r++) {
      // Alternate the order each round so no server always follows the same neighbour.
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        progress.detail(`round ${r + 1}/${rounds} · ${s.kind} (${s.node.label})`);
        const { child, port } = children.get(s.id);
        await ask(child, 'start');
        const l = await load(port, seconds);
        const { cpuUs } = await ask(child, 'stop');
        if (l.bad > 0 || l.ok === 0) throw new Error(`${s.id}: ${l.bad} failed requests`);
        samples.get(s.id).push({ cpuPerReq: cpuUs / l.ok, rps: l.rps, p99: l.p99 });
        progress.advance(1);
      }
    }
  } finally {
    await Promise.all([...children.values()].map(({ child }) => stopChild(child)));
  }
  return report({ nodes, servers, samples, seconds, rounds });
}

function report({ nodes, servers, samples, seconds, rounds }) {
  const byId = new Map(servers.map((s) => [s.id, s]));
  const cpu = (id) => median(samples.get(id).map((x) => x.cpuPerReq));
  /** Per-round ratios of `id` to the server `baseKind` on the same Node, or undefined. */
  const ratios = (id, baseKind) => {
    const s = byId.get(id);
    const baseId = `${baseKind}@${s.node.major}`;
    if (!samples.has(baseId)) return undefined;
    const base = samples.get(baseId);
    return samples.get(id).map((x, i) => x.cpuPerReq / base[i].cpuPerReq);
  };

  // Table 1: CPU µs/request and ratio to the bare framework, Node versions side by side.
  const rowKinds = [...new Set(servers.map((s) => s.kind))];
  const header = ['server', ...nodes.flatMap((n) => [`${n.label} µs/req`, `${n.label} vs bare`])];
  const rows = rowKinds.map((kind) => {
    const first = servers.find((s) => s.kind === kind);
    return [
      first.label,
      ...nodes.flatMap((n) => {
        const id = `${kind}@${n.major}`;
        if (!samples.has(id)) return ['', ''];
        const r = kind === first.base ? undefined : ratios(id, first.base);
        return [cpu(id).toFixed(1), kind === first.base ? '1.00×' : fmtRatio(r)];
      }),
    ];
  });

  // Table 2: graylane over the ALS-only server of the same framework (graylane's own share).
  const shareRows = [];
  for (const [fw, fwLabel] of FRAMEWORKS)
    for (const [suffix, vLabel] of VARIANTS.slice(1)) {
      const kind = `${fw}${suffix}`;
      if (!rowKinds.includes(kind)) continue;
      const base = suffix === '+als' ? fw : `${fw}+als`;
      shareRows.push([
        `${fwLabel} ${vLabel}`,
        suffix === '+als' ? `vs ${fwLabel}` : 'vs ALS only',
        ...nodes.map((n) => {
          const id = `${kind}@${n.major}`;
          return samples.has(id) ? fmtRatio(ratios(id, base)) : '';
        }),
      ]);
    }

  const goals = [];
  for (const n of nodes)
    for (const [fw, fwLabel] of FRAMEWORKS)
      for (const [suffix, what] of [
        ['+graylane', 'header marker'],
        ['+graylane-rules', 'rules decide'],
      ]) {
        const id = `${fw}${suffix}@${n.major}`;
        const r = samples.has(id) && ratios(id, fw);
        if (!r) continue;
        const t = goalFor(n.major);
        goals.push(ratioGoal(`${fwLabel} + graylane (${what}) ≤ ${t}× bare, ${n.label}`, r, t));
      }

  const versions = nodes.map((n) => `${n.label} = ${n.version}`).join(', ');
  return {
    id: 'middleware',
    title: `Middleware: server CPU per request by framework and Node version (autocannon, ${CONNECTIONS} connections, ${seconds} s × ${rounds} interleaved rounds per server)`,
    header,
    rows,
    tables: [
      {
        title: "graylane's own share: each server against the one below it (ALS-only against bare)",
        header: ['server', 'against', ...nodes.map((n) => n.label)],
        rows: shareRows,
      },
    ],
    goals,
    notes: [
      `${versions}. µs/req is the median over rounds of the server process’s own \`process.cpuUsage()\` (user + system) divided by its 2xx responses; every ratio is the median (min–max) of per-round ratios against the baseline measured in the same round on the same Node. Servers run with NODE_ENV=production; every server gets the same requests (\`x-gray-id: beta\`, \`x-user-id\`), the "no marker" servers read the marker from a header the client never sends.`,
      'The goals: ≤ 1.10× bare on Node 24, ≤ 1.20× on Node 20 and 22 (issue 20), judged as in the method above (PASS when the 95 % bound of the median is within the goal, OPEN when the rounds straddle it).',
    ].join(' '),
    samples: Object.fromEntries(samples),
  };
}
