// Hostile input (RELIABILITY AMP-01..03): what one request full of malformed percent-escapes,
// empty keys and thousands of entries costs the inbound engine, against a benign request of the
// same app, in one run. In-process ops/s of `decideRequest` (no network), 30 rules reading
// cookies, query parameters and headers. GRAYLANE_BENCH_NODE=<path to a built @graylane/node
// entry> measures another build (the "before" figures in docs/benchmarks.md).
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, forkReady, serveCpuChild, stopChild } from '../lib/child.mjs';
import { fmt, goal, median } from '../measure.mjs';
import { fmtRatio, ratioGoal } from '../lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);

const GOAL = 5;
const fill = (unit, bytes) => unit.repeat(Math.floor(bytes / unit.length));
/** `unit(0) unit(1) …` up to `bytes`: pairs that differ, so no reader can reuse a verdict. */
const numbered = (unit, bytes) => {
  let s = '';
  for (let i = 0; s.length + unit(i).length <= bytes; i++) s += unit(i);
  return s;
};

function rules(n) {
  const kinds = ['cookie', 'query', 'header'];
  const list = Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    match: { [kinds[i % 3]]: { [`k${i}`]: { equals: `v${i}-never` } } },
    version: 'beta',
  }));
  list.push({
    id: 'ramp',
    split: [
      { version: 'beta', weight: 5 },
      { version: 'stable', weight: 95 },
    ],
    bucketBy: 'header:x-user',
  });
  return { versions: ['stable', 'beta'], default: 'stable', rules: list };
}

const BENIGN = {
  headers: {
    cookie: 'sid=3f2a9c0d1e; theme=dark; lang=en-GB; _ga=GA1.2.3.4; gray_uid=9b1c',
    baggage: 'tenant=acme,region=eu-west-1',
    'x-user': 'user-4711',
  },
  url: '/api/orders?page=2&sort=desc',
};

/** [label, request]: each under Node's default 16 KiB header limit except the last. */
const HOSTILE = [
  ['cookie: 12 KiB of pairs without "="', { headers: { cookie: fill('a;', 12_000) }, url: '/' }],
  [
    'cookie: 12 KiB of bad escapes',
    { headers: { cookie: fill('gray=%ZZ; %E0%A4%A=x; ', 12_000) }, url: '/' },
  ],
  [
    'cookie: 12 KiB of PHP-array marker names, each different',
    { headers: { cookie: numbered((i) => `gray[${i}]=1; `, 12_000) }, url: '/' },
  ],
  [
    'cookie: 12 KiB of lookalike names',
    { headers: { cookie: fill('gray_uid=1; ', 12_000) }, url: '/' },
  ],
  [
    'cookie: 12 KiB of a list value holding gray',
    { headers: { cookie: `l=${fill('gray,', 12_000)}` }, url: '/' },
  ],
  [
    'cookie: one 12 KiB name of escaped spaces, then gray',
    { headers: { cookie: `${fill('%20', 11_994)}gray=1` }, url: '/' },
  ],
  [
    'cookie: one 12 KiB name of plus signs, then gray',
    { headers: { cookie: `${fill('+', 11_994)}gray=1` }, url: '/' },
  ],
  ['query: 8 KiB of bad-escape keys', { headers: {}, url: `/?${fill('%ZZ=1&', 8_000)}` }],
  ['query: 8 KiB of empty keys', { headers: {}, url: `/?${fill('=&', 8_000)}` }],
  ['baggage: 12 KiB of junk entries', { headers: { baggage: fill('%ZZ=%ZZ,', 12_000) }, url: '/' }],
  ['baggage: 12 KiB of empty entries', { headers: { baggage: fill(',', 12_000) }, url: '/' }],
  [
    'every carrier at once',
    {
      headers: { cookie: fill('a;', 4_000), baggage: fill('%C0%80=x,', 4_000) },
      url: `/?${fill('%ZZ&', 4_000)}`,
    },
  ],
  [
    'baggage: 1 MiB of junk (maxHeaderSize raised)',
    { headers: { baggage: fill('%ZZ=%ZZ,', 1024 * 1024) }, url: '/' },
  ],
];

// `--server`: the AMP-03 server — graylane's middleware over the same 30 rules, in its own
// process, answering `start` / `stop` with its own CPU time (what a client costs the server).
if (process.argv.includes('--server')) {
  const http = await import('node:http');
  const { createGraylane } = await import(process.env.GRAYLANE_BENCH_NODE ?? '@graylane/node');
  const gray = createGraylane({ config: rules(30) });
  const server = http.createServer((req, res) =>
    gray.handle(req, res, () => {
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    }),
  );
  serveCpuChild(server);
}

/**
 * AMP-03 as RELIABILITY defines it: what one request costs the server, hostile against benign,
 * as server CPU µs per request (HTTP parsing and the response included) over keep-alive
 * connections, each case interleaved with benign load in every round. The 1 MiB row needs a
 * raised header limit on both ends and is measured in process only.
 */
async function serverRatios(cases, { rounds, seconds }) {
  const { child, first } = await forkReady(SELF, ['--server'], {
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const load = async (r) => {
    await ask(child, 'start');
    const result = await autocannon({
      url: `http://127.0.0.1:${first.port}${r.url}`,
      connections: 8,
      duration: seconds,
      headers: r.headers,
    });
    const { cpuUs } = await ask(child, 'stop');
    return cpuUs / Math.max(1, result['2xx']);
  };
  try {
    await load(BENIGN);
    const out = [];
    for (const [label, req] of cases) {
      const ratios = [];
      const us = { hostile: [], benign: [] };
      for (let r = 0; r < rounds; r++) {
        const pair =
          r % 2
            ? [
                ['benign', BENIGN],
                ['hostile', req],
              ]
            : [
                ['hostile', req],
                ['benign', BENIGN],
              ];
        const got = {};
        for (const [name, q] of pair) got[name] = await load(q);
        us.hostile.push(got.hostile);
        us.benign.push(got.benign);
        ratios.push(got.hostile / got.benign);
      }
      out.push({ label, req, ratios, hostileUs: median(us.hostile), benignUs: median(us.benign) });
    }
    return out;
  } finally {
    await stopChild(child);
  }
}

/**
 * Interleaved, time-boxed ops/s (compareOps warms up with 20,000 calls, which a hostile request
 * on an unbounded build would never finish): each round runs each candidate for `minMs`, at least
 * once; the median over rounds is reported.
 */
function timedOps(candidates, { rounds, minMs }) {
  const names = Object.keys(candidates);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) {
    const end = performance.now() + minMs;
    while (performance.now() < end) candidates[name]();
  }
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      let ops = 0;
      const start = performance.now();
      let now = start;
      while (ops === 0 || now - start < minMs) {
        candidates[name]();
        ops++;
        now = performance.now();
      }
      samples[name].push((ops / (now - start)) * 1000);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

const bytes = (r) =>
  r.url.length + Object.values(r.headers).reduce((n, v) => n + String(v).length, 0);

export async function run({ quick }) {
  const from = process.env.GRAYLANE_BENCH_NODE;
  const { createGraylane } = await import(from ?? '@graylane/node');
  const gray = createGraylane({ config: rules(30) });
  // A fresh request object per call: the engine may normalise what it decided on.
  const decide = (r) => () =>
    gray.decideRequest({ headers: { ...r.headers }, url: r.url, method: 'GET', socket: {} })
      .version;
  const opts = { rounds: quick ? 2 : 7, minMs: quick ? 30 : 150 };
  const cases = quick ? HOSTILE.slice(0, 3) : HOSTILE;
  const rows = [];
  let worst = 0;
  // Benign is measured in every comparison, so each ratio comes from interleaved rounds.
  for (const [label, req] of cases) {
    const ops = timedOps({ benign: decide(BENIGN), hostile: decide(req) }, opts);
    const ratio = ops.benign / ops.hostile;
    worst = Math.max(worst, ratio);
    rows.push([
      label,
      String(bytes(req)),
      fmt(ops.hostile),
      fmt(ops.benign),
      `${ratio.toFixed(1)}×`,
    ]);
  }
  // The server (AMP-03): every case that fits Node's default 16 KiB header limit.
  const serverCases = cases.filter(([, req]) => bytes(req) < 16_000);
  const server = await serverRatios(serverCases, {
    rounds: quick ? 1 : 5,
    seconds: quick ? 0.3 : 1,
  });
  const worstServer = server.reduce(
    (w, r) => (median(r.ratios) > median(w.ratios) ? r : w),
    server[0],
  );
  return {
    id: 'hostile',
    title: `Hostile input: 30 rules (${from ? `build at ${from}` : '@graylane/node'})`,
    tables: [
      {
        title: 'The engine alone: `decideRequest` decisions/s in process',
        header: ['request', 'bytes', 'hostile', 'benign', 'cost vs benign'],
        rows,
      },
      {
        title:
          'The server (AMP-03): server CPU µs per request over HTTP, hostile against benign, median (min–max) of interleaved rounds',
        header: ['request', 'bytes', 'hostile µs/req', 'benign µs/req', 'cost vs benign'],
        rows: server.map((r) => [
          r.label,
          String(bytes(r.req)),
          r.hostileUs.toFixed(1),
          r.benignUs.toFixed(1),
          fmtRatio(r.ratios),
        ]),
      },
    ],
    goals: [
      ratioGoal(
        `worst hostile request costs the server ≤ 5× a benign one (AMP-03; ${worstServer.label})`,
        worstServer.ratios,
        GOAL,
      ),
      goal('the engine alone: worst hostile decision ≤ 5× a benign one', worst, GOAL, '<='),
    ],
    notes:
      'The engine-alone ratio divides by a benign decision of a few µs: a 12 KiB carrier parsed linearly costs several times that, however cheap each byte. AMP-03 defines the ratio at the server, where a request also costs its HTTP parsing and response.',
  };
}
