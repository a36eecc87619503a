// npm run bench / bench:quick — runs each suite, prints a Markdown table per suite with PASS/FAIL
// goals, and writes bench/results/latest.json and the results section of docs/benchmarks.md.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';

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
  'outbound',
  'bundle',
  'reload',
  'memory',
  'queue',
];

const results = [];
for (const id of SUITES) {
  if (only && !only.includes(id)) continue;
  const file = new URL(`./suites/${id}.mjs`, import.meta.url);
  if (!existsSync(file)) continue;
  const started = performance.now();
  try {
    const mod = await import(file.href);
    const r = await mod.run({ quick });
    r.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    results.push(r);
    console.log(render(r));
  } catch (err) {
    console.error(`[bench] suite ${id} failed: ${err?.stack ?? err}`);
    results.push({ id, title: id, error: String(err?.message ?? err), rows: [], goals: [] });
  }
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
const meta = { date: new Date().toISOString(), node: process.version, machine, quick };
mkdirSync(new URL('../results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL(`../results/${quick ? 'quick' : 'latest'}.json`, import.meta.url),
  JSON.stringify({ meta, results }, null, 2) + '\n',
);

if (!quick && !only) {
  const docs = new URL('../../docs/benchmarks.md', import.meta.url);
  const text = existsSync(docs)
    ? readFileSync(docs, 'utf8')
    : '# Benchmarks\n\n<!-- results:start -->\n<!-- results:end -->\n';
  const body = [
    `Measured ${meta.date.slice(0, 10)} on ${machine}, Node ${meta.node}.`,
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
const failed = results.flatMap((r) => r.goals ?? []).filter((g) => !g.pass).length;
const errored = results.filter((r) => r.error).length;
console.log(
  `bench ${quick ? 'quick ' : ''}done: ${results.length} suites, ${failed} goals missed, ${errored} suites errored`,
);
process.exitCode = errored ? 1 : 0;

function render(r) {
  if (r.error) return `### ${r.title}\n\nerrored: ${r.error}\n`;
  const lines = [`### ${r.title}`, ''];
  if (r.header) {
    lines.push(`| ${r.header.join(' | ')} |`, `|${r.header.map(() => '---').join('|')}|`);
    for (const row of r.rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  }
  for (const g of r.goals ?? [])
    lines.push(`- ${g.pass ? 'PASS' : 'FAIL'} ${g.name}: ${g.ratio} (goal ${g.target})`);
  if (r.notes) lines.push('', r.notes);
  return lines.join('\n') + '\n';
}
