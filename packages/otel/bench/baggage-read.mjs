// Inbound marker read: core's bounded `readBaggageMember` vs OTel's `W3CBaggagePropagator.extract`
// (+ getEntry) on the same 1- and 10-member headers, in one run. Goal: ≥ 3× on 10 members.
// Usage: node packages/otel/bench/baggage-read.mjs [--json] [--quick] [--check: exit 1 if the goal is missed]
import { readBaggageMember } from '@graylane/core';
import { ROOT_CONTEXT, defaultTextMapGetter, propagation } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';

const GOAL_RATIO_10 = 3;
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const OPS_PER_ROUND = quick ? 20_000 : 100_000;

// `gray` last: both readers scan the whole header. The properties row is informational.
const members = (n, props = '') =>
  [...Array.from({ length: n - 1 }, (_, i) => `key${i}=value${i}${props}`), 'gray=beta'].join(',');
const headers = {
  1: members(1),
  10: members(10),
  '10 (with properties)': members(10, ';ttl=60;p'),
};

const propagator = new W3CBaggagePropagator();
let sink = 0;

const readers = {
  graylane: (header) => {
    const r = readBaggageMember(header, 'gray');
    return r.kind === 'value' ? r.value : undefined;
  },
  otel: (header) => {
    const ctx = propagator.extract(ROOT_CONTEXT, { baggage: header }, defaultTextMapGetter);
    return propagation.getBaggage(ctx)?.getEntry('gray')?.value;
  },
};

/** Median ns/op over ROUNDS rounds; rounds alternate between readers to share machine noise. */
function measure(header) {
  const samples = { graylane: [], otel: [] };
  for (const name of Object.keys(readers))
    for (let i = 0; i < 2_000; i++) sink += readers[name](header)?.length ?? 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, read] of Object.entries(readers)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < OPS_PER_ROUND; i++) sink += read(header)?.length ?? 0;
      samples[name].push(Number(process.hrtime.bigint() - start) / OPS_PER_ROUND);
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { graylane: median(samples.graylane), otel: median(samples.otel) };
}

for (const [n, header] of Object.entries(headers)) {
  if (readers.graylane(header) !== 'beta' || readers.otel(header) !== 'beta')
    throw new Error(`readers disagree on ${n} members`);
}

const rows = Object.entries(headers).map(([n, header]) => {
  const r = measure(header);
  return {
    members: n,
    bytes: header.length,
    graylaneNs: r.graylane,
    otelNs: r.otel,
    ratio: r.otel / r.graylane,
  };
});
const ten = rows.find((r) => r.members === '10');
const pass = ten.ratio >= GOAL_RATIO_10;

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ node: process.version, rows, goal: GOAL_RATIO_10, pass }));
} else {
  console.log(`baggage read, node ${process.version}, median of ${ROUNDS} × ${OPS_PER_ROUND} ops`);
  console.log(
    '| members | bytes | graylane readBaggageMember (ns/op) | OTel W3CBaggagePropagator.extract (ns/op) | ratio |',
  );
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.members} | ${r.bytes} | ${r.graylaneNs.toFixed(0)} | ${r.otelNs.toFixed(0)} | ${r.ratio.toFixed(1)}× |`,
    );
  }
  console.log(`goal ≥ ${GOAL_RATIO_10}× on 10 members: ${pass ? 'met' : 'NOT met'}`);
}
if (sink === -1) console.log(sink);
if (process.argv.includes('--check') && !pass) process.exitCode = 1;
