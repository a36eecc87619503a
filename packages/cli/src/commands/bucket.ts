import { armFor, bucket as bucketOf, shareAt } from '@graylane/core';
import { parse } from '../args.js';
import { CliError } from '../io.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';
import { printable, quoted } from '../text.js';

export const bucketHelp = `Usage: graylane bucket <salt> <subject> [--config C] [--json]

Prints bucket(salt, subject) in 0–9999. With --config, also the bucket and version
each split rule gives this subject now (each rule hashes with its own salt, default its
id, with /v<n> appended for bucketVersion n > 1; a scheduled rule uses the step in force).`;

export async function bucket(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    { config: { type: 'string' }, json: { type: 'boolean' } },
    bucketHelp,
  );
  if (positionals.length !== 2) throw new CliError(bucketHelp);
  const [salt, subject] = positionals as [string, string];
  const b = bucketOf(salt, subject);
  const rules: { ruleId: string; salt: string; bucket: number; version: string }[] = [];
  if (values.config) {
    const config = await requireConfig(values.config, io);
    for (const rule of config.rules) {
      if (rule.kind !== 'split') continue;
      const rb = bucketOf(rule.salt, subject);
      const version = armFor(shareAt(rule, Date.now()).arms, rb);
      rules.push({
        ruleId: rule.id,
        salt: rule.salt,
        bucket: rb,
        version: version || config.default,
      });
    }
  }
  if (values.json) {
    io.out(JSON.stringify({ ok: true, salt, subject, bucket: b, rules }, null, 2));
    return 0;
  }
  io.out(`bucket(${quoted(salt)}, ${quoted(subject)}) = ${b}`);
  for (const r of rules)
    io.out(
      `  rule ${printable(r.ruleId)} (salt ${quoted(r.salt)}): bucket ${r.bucket} → ${printable(r.version)}`,
    );
  return 0;
}
