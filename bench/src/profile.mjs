// Attributes a server's CPU per request by V8 CPU profile: `node bench/src/profile.mjs <kind> …`
// forks servers/http-server.mjs (under --node=<binary> when given), warms it up, profiles
// `--seconds` of autocannon load, and prints CPU µs per request split into graylane's own code
// (`packages/*/dist`), the framework, Node internals and the rest, plus graylane's top functions
// by self time. Not a benchmark with a goal: the tool behind the "profile findings" in
// docs/benchmarks.md. Example: node bench/src/profile.mjs express+graylane express --seconds=3
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, stopChild } from './lib/child.mjs';
import { attribute } from './lib/profile.mjs';

const SERVER = fileURLToPath(new URL('./servers/http-server.mjs', import.meta.url));
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kinds = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(flag('seconds') ?? 3);
const execPath = flag('node') ?? process.execPath;
const top = Number(flag('top') ?? 12);

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
