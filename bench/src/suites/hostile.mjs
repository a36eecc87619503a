// Hostile input (RELIABILITY AMP-01..03): what one request full of malformed percent-escapes,
// empty keys and thousands of entries costs the inbound engine, against a benign request of the
// same app, in one run. In-process ops/s of `decideRequest` (no network), 30 rules reading
// cookies, query parameters and headers. GRAYLANE_BENCH_NODE=<path to a built @graylane/node
// entry> measures another build (the "before" figures in docs/benchmarks.md).
import { fmt, goal, median } from '../measure.mjs';

const GOAL = 5;
const fill = (unit, bytes) => unit.repeat(Math.floor(bytes / unit.length));

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
  return {
    id: 'hostile',
    title: `Hostile input: decisions/s, 30 rules (${from ? `build at ${from}` : '@graylane/node'})`,
    header: ['request', 'bytes', 'hostile', 'benign', 'cost vs benign'],
    rows,
    goals: [goal('worst hostile request costs ≤ 5× a benign one (AMP-03)', worst, GOAL, '<=')],
  };
}
