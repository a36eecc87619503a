// graylane's own CPU per request (issue 20: ≤ 1 µs on the header path), attributed by a V8 CPU
// profile of the server under load, per framework and Node version. Each server runs in its own
// child process (servers/http-server.mjs, header marker); autocannon in this process is the load
// generator. The figure is graylane's share of the profile's non-idle samples (its functions'
// self time in `packages/*/dist`) times the server's own process.cpuUsage() per request measured
// in a window *without* the profiler (on a small VM the sampler itself multiplies CPU per
// request several times over). Shares, not the samples' wall-clock deltas, so a busy machine
// that deschedules the server does not inflate it. The bound is a one-sided 95 % bound on the
// share from the sample counts (binomial, normal approximation). Builtins graylane's functions
// call are counted as theirs (and, with inlining on, whatever V8 inlined into them); GC is not.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, stopChild } from '../lib/child.mjs';
import { benchNodes } from '../lib/nodes.mjs';
import { attribute } from '../lib/profile.mjs';
import { silentProgress } from '../lib/progress.mjs';
import { FRAMEWORKS } from './middleware.mjs';

const SERVER = fileURLToPath(new URL('../servers/http-server.mjs', import.meta.url));
const GOAL_US = 1;
/**
 * Inlining on by default: the server runs as in production. Then TurboFan may inline Node's
 * `EventEmitter#emit` into graylane's `emit` wrapper (and the app's handler into `handle`), whose
 * self time is counted as graylane's — an overestimate. `--no-inlining` profiles with TurboFan
 * inlining off, which keeps self time with the function that spent it but slows graylane's many
 * small functions more than Node's (an overestimate of another kind).
 */
const INLINING = !process.argv.includes('--no-inlining');
const HEADERS = { 'x-gray-id': 'beta', 'x-user-id': 'user-4711' };

const numberFlag = (name, fallback) => {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
};

/** graylane µs per request and its one-sided 95 % upper bound, from one profile. */
function graylaneCost({ graylaneSamples, samples, idleSamples }, cpuUsPerReq) {
  const busy = Math.max(1, samples - idleSamples);
  const share = graylaneSamples / busy;
  const upper = Math.min(1, share + 1.645 * Math.sqrt((share * (1 - share)) / busy) + 1 / busy);
  return { us: share * cpuUsPerReq, upper: upper * cpuUsPerReq, share };
}

async function profileOne(kind, node, seconds) {
  const { child, first } = await forkReady(SERVER, [kind], {
    execPath: node.path,
    execArgv: INLINING ? [] : ['--no-turbo-inlining'],
    env: { ...process.env, NODE_ENV: 'production' },
    timeoutMs: 60_000,
  });
  try {
    const url = `http://127.0.0.1:${first.port}/`;
    await autocannon({ url, connections: 50, duration: 1, headers: HEADERS });
    // CPU per request without the profiler, then the profile for graylane's share.
    await ask(child, { type: 'start' });
    const plain = await autocannon({ url, connections: 50, duration: seconds, headers: HEADERS });
    const { cpuUs: plainCpuUs } = await ask(child, { type: 'stop' });
    await ask(child, { type: 'profile-start', intervalUs: 100 });
    const r = await autocannon({ url, connections: 50, duration: seconds, headers: HEADERS });
    const { cpuUs, profile } = await ask(child, { type: 'profile-stop' });
    const a = attribute(profile);
    const perReq = plainCpuUs / Math.max(1, plain['2xx']);
    const top = [...a.fns].sort((x, y) => y[1] - x[1]).slice(0, 3);
    const totalSelf = Object.values(a.buckets).reduce((s, v) => s + v, 0) - a.buckets.idle;
    return {
      cost: graylaneCost(a, perReq),
      cpuUs: perReq,
      profiledCpuUs: cpuUs / Math.max(1, r['2xx']),
      top: top.map(([name, us]) => [name, totalSelf > 0 ? (us / totalSelf) * perReq : 0]),
    };
  } finally {
    await stopChild(child);
  }
}

export async function run({ quick, progress = silentProgress }) {
  const nodes = benchNodes({ quick });
  const seconds = numberFlag('seconds', quick ? 0.5 : 2);
  const frameworks = quick ? FRAMEWORKS.slice(0, 1) : FRAMEWORKS;
  const rows = [];
  const goals = [];
  const findings = [];
  progress.plan(nodes.length * frameworks.length, 'profile');
  for (const node of nodes) {
    for (const [fw, label] of frameworks) {
      progress.detail(`${fw}+graylane (${node.label})`);
      const { cost, cpuUs, profiledCpuUs, top } = await profileOne(`${fw}+graylane`, node, seconds);
      rows.push([
        label,
        node.label,
        cpuUs.toFixed(1),
        profiledCpuUs.toFixed(1),
        `${(cost.share * 100).toFixed(1)} %`,
        cost.us.toFixed(2),
        cost.upper.toFixed(2),
      ]);
      const verdict = cost.upper <= GOAL_US ? 'PASS' : cost.us > GOAL_US ? 'FAIL' : 'OPEN';
      goals.push({
        name: `graylane's own CPU ≤ ${GOAL_US} µs per request, ${label} header marker, ${node.label}`,
        ratio: Number(cost.us.toFixed(2)),
        bound: Number(cost.upper.toFixed(2)),
        target: `<= ${GOAL_US}`,
        verdict,
        pass: verdict === 'PASS',
      });
      findings.push(
        `${label} (${node.label}): ${top.map(([name, us]) => `${name} ${us.toFixed(2)} µs`).join(', ')}`,
      );
      progress.advance(1);
    }
  }
  return {
    id: 'profile',
    title: `graylane's own CPU per request, by V8 CPU profile (header marker, autocannon 50 connections, ${seconds} s per server)`,
    header: [
      'framework',
      'Node',
      'server µs/req',
      'µs/req while profiled',
      'graylane share',
      'graylane µs/req',
      '95 % bound',
    ],
    rows,
    goals,
    notes: [
      `graylane µs/req = graylane functions’ share of the non-idle profile samples × the server’s own CPU per request measured without the profiler; GC is not attributed; TurboFan inlining ${INLINING ? 'on' : 'off'}.`,
      `Top graylane functions (µs/req): ${findings.join('; ')}`,
    ],
  };
}
