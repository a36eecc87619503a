import { paint, type CliIo } from '../io.js';
import { loadConfig } from '../load.js';

export const validateHelp = `Usage: graylane validate <file | etcd://host:port/key>

Checks a config document. Exit 0 when valid; otherwise exit 1 and every problem
with its JSON path, one per line. Warnings (e.g. an empty prefix) never fail.`;

export async function validate(args: readonly string[], io: CliIo): Promise<number> {
  const [location] = args;
  if (!location || args.length !== 1) {
    io.err(validateHelp);
    return 2;
  }
  const result = await loadConfig(location);
  for (const w of result.warnings)
    io.out(`${paint(io, 'yellow', 'warning')} ${w.path}: ${w.message}`);
  if (!result.ok) {
    for (const e of result.errors) io.out(`${paint(io, 'red', 'error')} ${e.path}: ${e.message}`);
    io.out(`${location}: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
  const { config } = result;
  io.out(
    `${paint(io, 'green', 'ok')} ${location}: versions ${config.versions.join(', ')} (default ${config.default}), ` +
      `${config.rules.length} active rule${config.rules.length === 1 ? '' : 's'}, hash ${config.hash}`,
  );
  return 0;
}
