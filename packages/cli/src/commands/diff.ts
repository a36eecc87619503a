import { parse } from '../args.js';
import { CliError } from '../io.js';
import type { Run } from '../input/run.js';
import { compareConfigs, parseNow, printComparison, sampleImpact } from '../impact.js';
import { requireConfig } from '../load.js';

export const diffHelp = `Usage: graylane diff <old> <new> [--sample visitors.jsonl] [--now ISO] [--json]

Which rules changed, and — with a sample of requests, one JSON object per line
({"headers":{…},"cookies":{…},"query":{…},"attrs":{…},"path":"/x","method":"GET"}) —
how many of them would change version if <new> replaced <old>. Each of <old>, <new>
and the sample may be a file, - (stdin, once) or etcd://host:port/key.`;

export async function diff(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    { sample: { type: 'string' }, now: { type: 'string' }, json: { type: 'boolean' } },
    diffHelp,
  );
  if (positionals.length !== 2) throw new CliError(diffHelp);
  const now = parseNow(values.now);
  if (now === undefined)
    throw new CliError(`--now expects an ISO instant, got ${JSON.stringify(values.now)}`);
  const before = await requireConfig(positionals[0] as string, run, 'old config');
  const after = await requireConfig(positionals[1] as string, run, 'new config');
  const cmp = compareConfigs(before, after);
  const impact = values.sample
    ? await sampleImpact(values.sample, run, before, after, now)
    : undefined;
  if (values.json) {
    run.out(JSON.stringify({ ...cmp, impact }, null, 2));
    return 0;
  }
  printComparison(run, before, after, cmp, impact);
  return 0;
}
