import { readFile } from 'node:fs/promises';
import { createConfigStore, decide, type GrayRequest } from '@graylane/core';
import { parse } from '../args.js';
import { CliError, type CliIo } from '../io.js';
import { requireConfig } from '../load.js';

export const diffHelp = `Usage: graylane diff <old> <new> [--sample visitors.jsonl] [--now ISO] [--json]

Which rules changed, and — with a sample of requests, one JSON object per line
({"headers":{…},"cookies":{…},"query":{…},"attrs":{…},"path":"/x","method":"GET"}) —
how many of them would change version if <new> replaced <old>.`;

export async function diff(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    { sample: { type: 'string' }, now: { type: 'string' }, json: { type: 'boolean' } },
    diffHelp,
  );
  if (positionals.length !== 2) throw new CliError(diffHelp);
  const before = await requireConfig(positionals[0] as string);
  const after = await requireConfig(positionals[1] as string);
  const result = createConfigStore({ initial: before }).update(after);
  const changedRuleIds = result.status === 'changed' ? result.changedRuleIds : [];
  const settings =
    before.default !== after.default ||
    before.versions.join() !== after.versions.join() ||
    before.caseInsensitive !== after.caseInsensitive;
  const now = values.now === undefined ? Date.now() : Date.parse(values.now);
  if (!Number.isFinite(now))
    throw new CliError(`--now expects an ISO instant, got ${JSON.stringify(values.now)}`);
  const impact = values.sample ? await sampleImpact(values.sample, before, after, now) : undefined;
  if (values.json) {
    io.out(
      JSON.stringify(
        { changed: result.status === 'changed', changedRuleIds, settingsChanged: settings, impact },
        null,
        2,
      ),
    );
    return 0;
  }
  if (result.status !== 'changed')
    io.out('no change: the two configs are identical (ignoring key order and whitespace)');
  else {
    io.out(`changed rules: ${changedRuleIds.length ? changedRuleIds.join(', ') : 'none'}`);
    if (settings)
      io.out(
        `settings changed: versions ${before.versions.join(',')} → ${after.versions.join(',')}, default ${before.default} → ${after.default}`,
      );
  }
  if (impact) {
    io.out(
      `sample: ${impact.total} requests, ${impact.changed} would change version (${((100 * impact.changed) / Math.max(1, impact.total)).toFixed(1)}%)`,
    );
    for (const [move, n] of Object.entries(impact.moves)) io.out(`  ${move}: ${n}`);
    if (impact.skipped) io.out(`  (${impact.skipped} unreadable lines skipped)`);
  }
  return 0;
}

async function sampleImpact(
  file: string,
  before: Parameters<typeof decide>[0],
  after: Parameters<typeof decide>[0],
  now: number,
) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read sample ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const moves = Object.create(null) as Record<string, number>;
  let total = 0;
  let changed = 0;
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let request: GrayRequest;
    try {
      request = { ...(JSON.parse(line) as GrayRequest), now };
    } catch {
      skipped++;
      continue;
    }
    total++;
    const a = decide(before, request).version;
    const b = decide(after, request).version;
    if (a !== b) {
      changed++;
      moves[`${a} → ${b}`] = (moves[`${a} → ${b}`] ?? 0) + 1;
    }
  }
  return { total, changed, moves, skipped };
}
