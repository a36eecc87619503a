// Middleware overhead: autocannon on 127.0.0.1 against one server at a time, each server in its
// own child process reporting its process.cpuUsage() delta, so the figure is server CPU µs per
// request (the load generator's CPU is not counted). Rounds interleave every server, so machine
// noise hits all of them alike; each figure is the median over rounds.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, stopChild } from '../lib/child.mjs';
import { median, goal } from '../measure.mjs';

const SERVER = fileURLToPath(new URL('../servers/http-server.mjs', import.meta.url));
const GOAL = 1.25;
const QUICK = new Set([
  'http',
  'http+als',
  'http+graylane',
  'http+graylane+otel',
  'express+graylane',
  'koa+graylane',
  'fastify+graylane',
]);

/** [kind, label, baseline kind for the ratio column] */
const SERVERS = [
  ['http', '`node:http` (bare)', 'http'],
  ['http+als', '`node:http` + `AsyncLocalStorage.run`', 'http'],
  ['http+graylane', '`node:http` + graylane (header marker, 10 rules)', 'http'],
  ['http+graylane-rules', '`node:http` + graylane (no marker: 10 rules decide)', 'http'],
  ['http+graylane+otel', '`node:http` + graylane, OTel context manager + tracer active', 'http'],
  ['http+otel-instr', '`node:http` + OTel `HttpInstrumentation` (for scale)', 'http'],
  ['express', 'express 5', 'express'],
  ['express+graylane', 'express 5 + graylane', 'express'],
  ['koa', 'koa 3', 'koa'],
  ['koa+graylane', 'koa 3 + graylane', 'koa'],
  ['fastify', 'fastify 5', 'fastify'],
  ['fastify+graylane', 'fastify 5 + graylane', 'fastify'],
];

async function load(port, seconds, connections) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
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

export async function run({ quick }) {
  const seconds = quick ? 0.5 : 3;
  // Quick mode (a check that the suite still runs) keeps one server per code path.
  const servers = quick ? SERVERS.filter(([kind]) => QUICK.has(kind)) : SERVERS;
  const rounds = quick ? 1 : 3;
  const connections = 50;
  const children = new Map();
  const samples = new Map(servers.map(([kind]) => [kind, []]));
  try {
    const started = await Promise.allSettled(
      servers.map(async ([kind]) => {
        const { child, first } = await forkReady(SERVER, [kind]);
        children.set(kind, { child, port: first.port });
      }),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    // Warm-up pass (JIT, connection setup), not recorded.
    for (const [kind] of servers) await load(children.get(kind).port, quick ? 0.2 : 1, connections);
    for (let r = 0; r < rounds; r++) {
      // Alternate the order each round so no server always follows the same neighbour.
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const [kind] of order) {
        const { child, port } = children.get(kind);
        await ask(child, 'start');
        const l = await load(port, seconds, connections);
        const { cpuUs } = await ask(child, 'stop');
        if (l.bad > 0) throw new Error(`${kind}: ${l.bad} failed requests`);
        samples.get(kind).push({ cpuPerReq: cpuUs / l.ok, rps: l.rps, p99: l.p99 });
      }
    }
  } finally {
    await Promise.all([...children.values()].map(({ child }) => stopChild(child)));
  }

  const stat = (kind) => {
    const s = samples.get(kind);
    return {
      cpu: median(s.map((x) => x.cpuPerReq)),
      rps: median(s.map((x) => x.rps)),
      p99: median(s.map((x) => x.p99)),
    };
  };
  const roundRatio = (kind, base) =>
    median(samples.get(kind).map((x, i) => x.cpuPerReq / samples.get(base)[i].cpuPerReq));

  const rows = servers.map(([kind, label, base]) => {
    const s = stat(kind);
    const vsBase = samples.has(base)
      ? `${roundRatio(kind, base).toFixed(2)}×${base === 'http' ? '' : ` (vs ${base})`}`
      : '—';
    const vsAls = kind.startsWith('http+graylane')
      ? `${roundRatio(kind, 'http+als').toFixed(2)}×`
      : '';
    return [
      label,
      s.cpu.toFixed(1),
      vsBase,
      vsAls,
      Math.round(s.rps).toLocaleString('en-US'),
      `${s.p99} ms`,
    ];
  });
  const goals = [];
  if (samples.has('http+graylane'))
    goals.push(
      goal(
        'graylane (header marker, 10 rules) ≤ 1.25× bare `node:http` CPU/request',
        roundRatio('http+graylane', 'http'),
        GOAL,
        '<=',
      ),
    );
  if (samples.has('http+graylane-rules'))
    goals.push(
      goal(
        'graylane (rules decide) ≤ 1.25× bare `node:http` CPU/request',
        roundRatio('http+graylane-rules', 'http'),
        GOAL,
        '<=',
      ),
    );
  return {
    id: 'middleware',
    title: `Middleware: server CPU per request (autocannon, ${connections} connections, ${seconds} s × ${rounds} interleaved rounds per server)`,
    header: ['server', 'CPU µs/request', 'vs bare', 'vs ALS.run', 'req/s', 'p99'],
    rows,
    goals,
    notes:
      'CPU µs/request is the server process’s own `process.cpuUsage()` (user + system) over the run divided by 2xx responses; the ratio is taken per round against the baseline measured in the same round, then the median. req/s and p99 depend on the load generator sharing the 2 cores and are shown for scale only.',
  };
}
