// graylane's in-process cost per request on each Node version (issue 20): `handle()` around a
// no-op handler on real IncomingMessage/ServerResponse objects, no network (see
// servers/inprocess-child.mjs). Each figure is the median over interleaved rounds of (candidate −
// bare) ns per request, with the per-round range. The profile suite attributes the same work
// under HTTP load; this one isolates it, so it resolves differences the HTTP suites cannot.
import { fileURLToPath } from 'node:url';
import { forkReady, stopChild } from '../lib/child.mjs';
import { benchNodes } from '../lib/nodes.mjs';
import { silentProgress } from '../lib/progress.mjs';
import { median } from '../lib/stats.mjs';

const CHILD = fileURLToPath(new URL('../servers/inprocess-child.mjs', import.meta.url));

const diff = (a, b) => a.map((x, i) => x - b[i]);
const fmtNs = (xs) => {
  const m = median(xs);
  return `${Math.round(m)} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;
};

export async function run({ quick, progress = silentProgress }) {
  const nodes = benchNodes({ quick });
  const rounds = quick ? 3 : 9;
  const perRound = quick ? 10_000 : 50_000;
  const rows = [];
  const goals = [];
  progress.plan(nodes.length, 'in-process');
  for (const node of nodes) {
    progress.detail(`in-process (${node.label})`);
    const { child, first } = await forkReady(CHILD, [String(rounds), String(perRound)], {
      execPath: node.path,
      env: { ...process.env, NODE_ENV: 'production' },
      timeoutMs: 300_000,
    });
    await stopChild(child);
    const s = first.samples;
    const header = diff(s.header, s.bare);
    rows.push([
      node.label,
      fmtNs(s.bare),
      fmtNs(diff(s.als, s.bare)),
      fmtNs(header),
      fmtNs(diff(s.rules, s.bare)),
    ]);
    const m = median(header);
    const verdict = Math.max(...header) <= 1000 ? 'PASS' : m > 1000 ? 'FAIL' : 'OPEN';
    goals.push({
      name: `graylane in-process cost ≤ 1 µs per request, header marker, ${node.label}`,
      ratio: Number((m / 1000).toFixed(2)),
      min: Number((Math.min(...header) / 1000).toFixed(2)),
      max: Number((Math.max(...header) / 1000).toFixed(2)),
      bound: null,
      rounds: header.length,
      target: '<= 1',
      verdict,
      pass: verdict === 'PASS',
    });
    progress.advance(1);
  }
  return {
    id: 'inprocess',
    title: `graylane's in-process cost per request: ns over calling the handler directly (real IncomingMessage/ServerResponse, no network; ${rounds} interleaved rounds × ${perRound} requests)`,
    header: [
      'Node',
      'bare loop ns/req (building req + res)',
      '+ `AsyncLocalStorage.run` only',
      '+ graylane, header marker',
      '+ graylane, no marker (10 rules decide)',
    ],
    rows,
    goals,
    notes:
      'Each cell: median (min–max) over rounds of the candidate’s ns per request minus the bare loop’s in the same round. Goal figures are in µs; PASS when every round is within 1 µs.',
  };
}
