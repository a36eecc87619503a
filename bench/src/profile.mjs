// Attributes a server's CPU per request by V8 CPU profile: `node bench/src/profile.mjs <kind> …`
// forks servers/http-server.mjs (under --node=<binary> when given), warms it up, profiles
// `--seconds` of autocannon load, and prints CPU µs per request split into graylane's own code
// (`packages/*/dist`), the framework, Node internals and the rest, plus graylane's top functions
// by self time. Not a benchmark with a goal: the tool behind the "profile findings" in
// docs/benchmarks.md. Example: node bench/src/profile.mjs express+graylane express --seconds=3
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, stopChild } from './lib/child.mjs';

const SERVER = fileURLToPath(new URL('./servers/http-server.mjs', import.meta.url));
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kinds = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(flag('seconds') ?? 3);
const execPath = flag('node') ?? process.execPath;
const top = Number(flag('top') ?? 12);

/** Which bucket a profile node's self time belongs to. */
function bucket(url) {
  if (/\/packages\/[^/]+\/dist\//.test(url)) return 'graylane';
  if (url.includes('/node_modules/')) return 'framework';
  if (url.startsWith('node:') || url === '') return 'node';
  return 'other';
}

/** Self time per bucket and per graylane function, in µs, from a V8 CPU profile. */
function attribute(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const buckets = { graylane: 0, framework: 0, node: 0, other: 0, idle: 0 };
  const fns = new Map();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    if (['(idle)', '(program)', '(garbage collector)'].includes(callFrame.functionName)) {
      buckets[callFrame.functionName === '(idle)' ? 'idle' : 'node'] += us;
      continue;
    }
    const b = bucket(callFrame.url);
    buckets[b] += us;
    if (b === 'graylane') {
      const name = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.split('/').slice(-3).join('/')}:${callFrame.lineNumber + 1}`;
      fns.set(name, (fns.get(name) ?? 0) + us);
    }
  }
  return { buckets, fns };
}

for (const kind of kinds) {
  const { child, first } = await forkReady(SERVER, [kind], {
    execPath,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  try {
    const url = `http://127.0.0.1:${first.port}/`;
    const headers = { 'x-gray-id': 'beta', 'x-user-id': 'user-4711' };
    await autocannon({ url, connections: 50, duration: 1, headers });
    await ask(child, { type: 'profile-start', intervalUs: 50 });
    const r = await autocannon({ url, connections: 50, duration: seconds, headers });
    const { cpuUs, profile } = await ask(child, { type: 'profile-stop' });
    const n = r['2xx'];
    const { buckets, fns } = attribute(profile);
    const per = (us) => (us / n).toFixed(2);
    console.log(
      `${kind} (${first.node}): ${per(cpuUs)} µs CPU/req over ${n} requests; sampled: graylane ${per(buckets.graylane)}, framework ${per(buckets.framework)}, node ${per(buckets.node)}, other ${per(buckets.other)} µs/req`,
    );
    for (const [name, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${per(us).padStart(7)} µs/req  ${name}`);
  } finally {
    await stopChild(child);
  }
}
