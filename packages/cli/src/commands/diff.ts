import { parse } from '../args.js';
import { CliError } from '../io.js';
import type { Run } from '../input/run.js';
import { compareConfigs, parseNow, printComparison, sampleImpact } from '../impact.js';
import { requireConfig } from '../load.js';
import { scheduleLines, schedulesAt, type ScheduleView } from '../schedule.js';

export const diffHelp = `Usage: graylane diff <old> <new> [--sample visitors.jsonl] [--at ISO] [--json]

Which rules changed, and — with a sample of requests, one JSON object per line
({"headers":{…},"cookies":{…},"query":{…},"attrs":{…},"path":"/x","method":"GET"}) —
how many of them would change version if <new> replaced <old>. Configs that mean the
same (formatting, key order, spelled-out defaults, header-name case) are "no change"; a
moved rule counts as changed (the first match wins). A changed rule with a
schedule is shown in both configs: every step and the share in force at --at (default
now; --now is the same). Each of <old>, <new> and the sample may be a file, - (stdin,
once) or etcd://host:port/key.`;

export async function diff(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      sample: { type: 'string' },
      now: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean' },
    },
    diffHelp,
  );
  if (positionals.length !== 2) throw new CliError(diffHelp);
  if (values.at !== undefined && values.now !== undefined)
    throw new CliError('--at and --now are the same option: give one');
  const now = parseNow(values.at ?? values.now, values.at === undefined ? '--now' : '--at');
  const before = await requireConfig(positionals[0] as string, run, 'old config');
  const after = await requireConfig(positionals[1] as string, run, 'new config');
  const cmp = compareConfigs(before, after, now);
  const impact = values.sample
    ? await sampleImpact(values.sample, run, before, after, now)
    : undefined;
  const changed = new Set(cmp.changedRuleIds);
  const pick = (views: ScheduleView[]) => views.filter((v) => changed.has(v.ruleId));
  const schedules = {
    at: new Date(now).toISOString(),
    old: pick(schedulesAt(before, now)),
    new: pick(schedulesAt(after, now)),
  };
  if (values.json) {
    run.out(JSON.stringify({ ok: true, ...cmp, impact, schedules }, null, 2));
    return 0;
  }
  printComparison(run, before, after, cmp, impact);
  for (const [label, views] of [
    [' (old)', schedules.old],
    [' (new)', schedules.new],
  ] as const)
    for (const view of views) for (const line of scheduleLines(view, now, label)) run.out(line);
  return 0;
}
