import { validateConfig } from '@graylane/core';
import { parse } from '../args.js';
import { instantOption } from '../instant.js';
import { CliError } from '../io.js';
import type { Run } from '../input/run.js';
import { loadConfig, problemLines, regex } from '../load.js';
import { printable } from '../text.js';

export const pauseHelp = `Usage: graylane pause <config> --rule ID [--at ISO | --resume]

Prints <config> with the scheduled ramp of rule ID frozen: "pausedAt" is set to --at
(default now), so every instance keeps the step in force then, whatever the clock
says later. --resume removes "pausedAt" (steps whose time has passed apply at once).
Nothing else in the document changes. Push the result where services read it:

  graylane pause rules.json --rule ramp | graylane push - etcd://127.0.0.1:2379/graylane/config`;

export async function pause(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    { rule: { type: 'string' }, at: { type: 'string' }, resume: { type: 'boolean' } },
    pauseHelp,
  );
  if (positionals.length !== 1 || values.rule === undefined) throw new CliError(pauseHelp);
  if (values.resume && values.at !== undefined)
    throw new CliError('--at and --resume exclude each other');
  const at = instantOption(values.at, '--at');
  const location = positionals[0] as string;
  const loaded = await loadConfig(location, run);
  if (!loaded.result.ok)
    throw new CliError(
      `${printable(loaded.display)} is not a valid config:\n${problemLines(loaded.result.errors)}`,
      1,
      'invalid_config',
      loaded.result.errors,
    );
  // The document as written (key order kept); already validated, so plain JSON.parse is safe.
  const doc = JSON.parse(loaded.text) as { rules?: Record<string, unknown>[] };
  const rule = doc.rules?.find((r) => r['id'] === values.rule);
  if (!rule || rule['schedule'] === undefined) {
    const ids = (doc.rules ?? []).filter((r) => r['schedule'] !== undefined).map((r) => r['id']);
    throw new CliError(
      `--rule ${printable(values.rule)}: no rule with a schedule has this id (scheduled rules: ${printable(ids.join(', ')) || 'none'})`,
    );
  }
  if (values.resume) delete rule['pausedAt'];
  else rule['pausedAt'] = new Date(at).toISOString();
  const checked = validateConfig(doc, { regex });
  if (!checked.ok) throw new CliError(problemLines(checked.errors).replace(/^ {2}/gm, ''), 1);
  run.out(JSON.stringify(doc, null, 2));
  return 0;
}
