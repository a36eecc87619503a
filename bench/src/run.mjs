// npm run bench / bench:quick — runs each suite, prints a Markdown table per suite with its goals,
// and writes bench/results/latest.json and the results section of docs/benchmarks.md.
//   --quick            short smoke run (results/quick.json)
//   --only=a,b         these suites only (results/partial.json, and their entries in latest.json;
//                      the docs are not touched); `instructions-http` runs only when named here
//   --node=<binary>    run the whole bench under another Node (also GRAYLANE_BENCH_NODE when it
//                      names an executable rather than a built entry, see suites/hostile.mjs)
//   --nodes=20,22,24   the Node versions of the framework rows (suites/middleware.mjs)
//   --rounds=N --seconds=S   rounds and seconds per server of the HTTP suites
// Progress goes to stderr (lib/progress.mjs); a one-line verdict per goal closes the run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isExecutable } from './lib/nodes.mjs';
import { createProgress } from './lib/progress.mjs';
import { goalLine } from './lib/stats.mjs';

reexecUnderOtherNode();

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const SUITES = [
  'decision',
  'markers',
  'hostile',
  'middleware',
  'profile',
  'inprocess',
  'instructions',
  'instructions-http',
  'coverage',
  'outbound',
  'bundle',
  'reload',
  'memory',
  'queue',
];
const resultsDir = new URL('../results/', import.meta.url);
const resultsFile = new URL(
  quick ? 'quick.json' : only ? 'partial.json' : 'latest.json',
  resultsDir,
);
// Run only when named in --only: the framework rows counted under callgrind take about an hour.
const ON_REQUEST = new Set(['instructions-http']);
const planned = SUITES.filter(
  (id) =>
    (only ? only.includes(id) : !ON_REQUEST.has(id)) &&
    existsSync(new URL(`./suites/${id}.mjs`, import.meta.url)),
);
const lastSeconds = previousSeconds();
const progress = createProgress({ name: 'bench' });
const load1 = () => Number(os.loadavg()[0].toFixed(1));

const results = [];
for (const [i, id] of planned.entries()) {
  const file = new URL(`./suites/${id}.mjs`, import.meta.url);
  const after = planned.slice(i + 1).reduce((sum, next) => sum + (lastSeconds[next] ?? 0), 0);
  progress.phase(`suite ${i + 1}/${planned.length} ${id}`, { estimate: lastSeconds[id], after });
  const started = performance.now();
  const loadBefore = load1();
  try {
    const mod = await import(file.href);
    const r = await mod.run({ quick, progress });
    r.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    r.load = [loadBefore, load1()];
    results.push(r);
    progress.clear();
    console.log(render(r));
  } catch (err) {
    progress.clear();
    console.error(`[bench] suite ${id} failed: ${err?.stack ?? err}`);
    results.push({ id, title: id, error: String(err?.message ?? err), rows: [], goals: [] });
  }
}
progress.end();

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
const meta = { date: new Date().toISOString(), node: process.version, machine, quick, only };
mkdirSync(resultsDir, { recursive: true });
writeFileSync(resultsFile, JSON.stringify({ meta, results }, null, 2) + '\n');
// A partial run (`--only`) also replaces its suites in latest.json, which so holds the newest
// full-length result of every suite, each with its own date and Node versions.
if (only && !quick) mergeIntoLatest(meta, results);

if (!quick && !only) {
  const docs = new URL('../../docs/benchmarks.md', import.meta.url);
  const text = existsSync(docs)
    ? readFileSync(docs, 'utf8')
    : '# Benchmarks\n\n<!-- results:start -->\n<!-- results:end -->\n';
  const body = [
    `Measured ${meta.date.slice(0, 10)} on ${machine}; runner and in-process suites on Node ${meta.node}.`,
    '',
    ...results.map(render),
  ].join('\n');
  writeFileSync(
    docs,
    text.replace(
      /<!-- results:start -->[\s\S]*<!-- results:end -->/,
      `<!-- results:start -->\n${body}\n<!-- results:end -->`,
    ),
  );
}

// The closing summary: one line per goal, then the count.
const goals = results.flatMap((r) => (r.goals ?? []).map((g) => [r.id, g]));
if (goals.length) console.log('## Goals\n');
for (const [id, g] of goals) console.log(`- [${id}] ${goalLine(g)}`);
const count = (v) =>
  goals.filter(([, g]) => (g.verdict ?? (g.pass ? 'PASS' : 'FAIL')) === v).length;
const errored = results.filter((r) => r.error).length;
console.log(
  `\nbench ${quick ? 'quick ' : ''}done: ${results.length} suites, ${goals.length} goals — ` +
    `${count('PASS')} met, ${count('FAIL')} missed, ${count('OPEN')} not resolved — ${errored} suites errored`,
);
process.exitCode = errored ? 1 : 0;

function render(r) {
  if (r.error) return `### ${r.title}\n\nerrored: ${r.error}\n`;
  const lines = [`### ${r.title}`, ''];
  const table = (header, rows) => {
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  if (r.header) table(r.header, r.rows);
  for (const t of r.tables ?? []) {
    if (t.title) lines.push(`${t.title}:`, '');
    table(t.header, t.rows);
  }
  for (const g of r.goals ?? []) lines.push(`- ${goalLine(g)}`);
  const notes = [
    r.notes,
    r.load && `Load average (1 min) ${r.load[0]} → ${r.load[1]} during this suite.`,
  ]
    .filter(Boolean)
    .join(' ');
  if (notes) lines.push('', notes);
  return lines.join('\n') + '\n';
}

function mergeIntoLatest(meta, fresh) {
  const latestFile = new URL('latest.json', resultsDir);
  let latest = { meta: {}, results: [] };
  try {
    latest = JSON.parse(readFileSync(latestFile, 'utf8'));
  } catch {
    // no full run yet
  }
  const dated = fresh.filter((r) => !r.error).map((r) => ({ ...r, date: meta.date }));
  const ids = new Set(dated.map((r) => r.id));
  latest.results = [...latest.results.filter((r) => !ids.has(r.id)), ...dated];
  latest.meta = { ...latest.meta, updated: meta.date, machine: meta.machine };
  writeFileSync(latestFile, JSON.stringify(latest, null, 2) + '\n');
}

/** Seconds each suite took in the last full (or quick) run: the time-left estimate. */
function previousSeconds() {
  try {
    const last = JSON.parse(
      readFileSync(new URL(quick ? 'quick.json' : 'latest.json', resultsDir)),
    );
    return Object.fromEntries(last.results.map((r) => [r.id, r.seconds]));
  } catch {
    return {};
  }
}

/** `--node=<binary>` (or GRAYLANE_BENCH_NODE naming an executable): run this file under it. */
function reexecUnderOtherNode() {
  const flag = process.argv.find((a) => a.startsWith('--node='))?.slice(7);
  const fromEnv = isExecutable(process.env.GRAYLANE_BENCH_NODE)
    ? process.env.GRAYLANE_BENCH_NODE
    : undefined;
  const target = flag ?? fromEnv;
  if (!target) return;
  // The hostile suite reads GRAYLANE_BENCH_NODE as a built entry; a binary is consumed here.
  if (fromEnv) delete process.env.GRAYLANE_BENCH_NODE;
  if (!isExecutable(target)) throw new Error(`--node: ${target} is not an executable`);
  if (realpathSync(target) === realpathSync(process.execPath)) return;
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--node='));
  const r = spawnSync(target, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
