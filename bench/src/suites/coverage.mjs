// Propagation coverage (issue 19): server CPU per request of graylane's middleware alone vs the
// same server with `installCoverage()` on, each in its own child process (this file, forked with
// `--server=<kind>`), autocannon in this process as the load generator. Two shapes: a handler
// that answers at once (coverage only tracks the inbound request in flight), and one that makes
// an outbound `withGray(fetch)` call to a loopback echo server per request (coverage judges that
// call: two diagnostics-channel messages). Rounds interleave the servers (order alternating); each
// ratio is taken within a round against the middleware-alone server of the same shape, and a goal
// is judged on the spread of those per-round ratios (lib/stats.mjs). Goal: ≤ 1.03×.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, serveCpuChild, stopChild } from '../lib/child.mjs';
import { silentProgress } from '../lib/progress.mjs';
import { fmtRatio, median, ratioGoal } from '../lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const ECHO = fileURLToPath(new URL('../servers/echo-server.mjs', import.meta.url));
const CONNECTIONS = 32;
const GOAL = 1.03;
const SERVERS = [
  ['mw', 'middleware, no outbound call'],
  ['mw+coverage', 'middleware + coverage, no outbound call'],
  ['mw-fetch', 'middleware, one `withGray(fetch)` call per request'],
  ['mw-fetch+coverage', 'middleware + coverage, one `withGray(fetch)` call per request'],
];

if (process.argv.includes('--server'))
  await serve(process.argv[process.argv.indexOf('--server') + 1]);

async function serve(kind) {
  const http = await import('node:http');
  const { createGraylane, installCoverage, withGray } = await import('@graylane/node');
  const echo = Number(process.argv[process.argv.indexOf('--echo') + 1]);
  const allowHosts = [`127.0.0.1:${echo}`];
  const gray = createGraylane({
    config: { versions: ['stable', 'beta'], default: 'stable' },
    allowHosts,
  });
  if (kind.endsWith('+coverage')) installCoverage();
  const grayFetch = withGray(fetch);
  const url = `http://127.0.0.1:${echo}/orders`;
  const reply = (res, body) => {
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  };
  const handler = kind.startsWith('mw-fetch')
    ? (req, res) =>
        grayFetch(url)
          .then((r) => r.text())
          .then((seen) => reply(res, seen))
    : (req, res) => reply(res, 'ok');
  const server = http.createServer((req, res) => gray.handle(req, res, () => handler(req, res)));
  serveCpuChild(server);
}

async function load(port, seconds) {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'x-gray-id': 'beta' },
  });
  return { ok: r['2xx'], bad: r.non2xx + r.errors + r.timeouts, body: r };
}

export async function run({ quick, progress = silentProgress }) {
  const seconds = quick ? 0.5 : 1;
  const rounds = quick ? 1 : 9;
  const { child: echo, first } = await forkReady(ECHO);
  const children = new Map();
  const samples = new Map(SERVERS.map(([kind]) => [kind, []]));
  try {
    for (const [kind] of SERVERS) {
      const { child, first: ready } = await forkReady(SELF, [
        '--server',
        kind,
        '--echo',
        String(first.port),
      ]);
      children.set(kind, { child, port: ready.port });
    }
    // The marker really travels (the echo server answers the X-Gray-Id it saw).
    const check = await fetch(`http://127.0.0.1:${children.get('mw-fetch+coverage').port}/`, {
      headers: { 'x-gray-id': 'beta' },
    }).then((r) => r.text());
    if (check !== 'beta') throw new Error(`withGray did not carry the marker (echo saw ${check})`);
    progress.plan(SERVERS.length * (rounds + 1), 'run');
    for (const [kind] of SERVERS) {
      await load(children.get(kind).port, quick ? 0.2 : 1);
      progress.advance(1);
    }
    for (let r = 0; r < rounds; r++) {
      for (const [kind] of r % 2 ? [...SERVERS].reverse() : SERVERS) {
        progress.detail(`round ${r + 1}/${rounds} · ${kind}`);
        const { child, port } = children.get(kind);
        await ask(child, 'start');
        const l = await load(port, seconds);
        const { cpuUs } = await ask(child, 'stop');
        if (l.bad > 0 || l.ok === 0) throw new Error(`${kind}: ${l.bad} failed requests`);
        samples.get(kind).push(cpuUs / l.ok);
        progress.advance(1);
      }
    }
  } finally {
    await Promise.all([...children.values()].map(({ child }) => stopChild(child)));
    await stopChild(echo);
  }
  const ratios = (kind, base) => samples.get(kind).map((x, i) => x / samples.get(base)[i]);
  const rows = SERVERS.map(([kind, label]) => {
    const base = kind.replace('+coverage', '');
    return [
      label,
      median(samples.get(kind)).toFixed(1),
      kind === base ? '1.00×' : fmtRatio(ratios(kind, base)),
    ];
  });
  const goals = [
    ratioGoal(
      `middleware + coverage ≤ ${GOAL}× middleware alone (no outbound call)`,
      ratios('mw+coverage', 'mw'),
      GOAL,
    ),
    ratioGoal(
      `middleware + coverage ≤ ${GOAL}× middleware alone (one withGray(fetch) call per request)`,
      ratios('mw-fetch+coverage', 'mw-fetch'),
      GOAL,
    ),
  ];
  return {
    id: 'coverage',
    title: `Propagation coverage: server CPU µs per request (${CONNECTIONS} connections, ${seconds} s × ${rounds} interleaved rounds)`,
    header: ['server', 'µs/req', 'vs middleware alone'],
    rows,
    goals,
    notes:
      'Each server runs in its own process; the ratio is taken per round against the middleware-alone server of the same shape (issue 19: goal ≤ 1.03×).',
  };
}
