import { parse } from '../args.js';
import { CliError, paint } from '../io.js';
import type { Run } from '../input/run.js';
import { loadConfig } from '../load.js';
import { printable } from '../text.js';

export const validateHelp = `Usage: graylane validate <file | - | etcd://host:port/key> [--json]

Checks a config document. Exit 0 when valid; otherwise exit 1 and every problem
with its JSON path, one per line. Warnings (e.g. an empty prefix) never fail.
--json prints {"ok", "location", "errors": [{"path", "message"}], "warnings": […],
"config": {"versions", "default", "rules", "hash"}} instead (same exit codes; an invalid
config adds "error": {"code": "invalid_config", "message", "problems"}); when the config
cannot be read, {"ok": false, "error": {"code", "message"}, "exitCode"} (exit 2).`;

export async function validate(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, validateHelp);
  const [location] = positionals;
  if (!location || positionals.length !== 1) throw new CliError(validateHelp);
  // A config that cannot be read is a failure runCli prints (as JSON with --json).
  const { result, display } = await loadConfig(location, run);
  if (values.json) {
    run.out(
      JSON.stringify(
        {
          ok: result.ok,
          location: display,
          errors: result.ok ? [] : result.errors,
          warnings: result.warnings,
          ...(result.ok
            ? {}
            : {
                error: {
                  code: 'invalid_config',
                  message: `${display} is not a valid config`,
                  problems: result.errors,
                },
                exitCode: 1,
              }),
          ...(result.ok
            ? {
                config: {
                  versions: result.config.versions,
                  default: result.config.default,
                  rules: result.config.rules.length,
                  hash: result.config.hash,
                },
              }
            : {}),
        },
        null,
        2,
      ),
    );
    return result.ok ? 0 : 1;
  }
  // Paths and messages quote the document (a header name, a key), the location is a file name or
  // etcd key: each escaped, so none can print a line of its own or hide one (I1).
  const where = printable(display);
  for (const w of result.warnings)
    run.out(`${paint(run, 'yellow', 'warning')} ${printable(w.path)}: ${printable(w.message)}`);
  if (!result.ok) {
    for (const e of result.errors)
      run.out(`${paint(run, 'red', 'error')} ${printable(e.path)}: ${printable(e.message)}`);
    run.out(`${where}: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
  const { config } = result;
  run.out(
    `${paint(run, 'green', 'ok')} ${where}: versions ${printable(config.versions.join(', '))} (default ${printable(config.default)}), ` +
      `${config.rules.length} active rule${config.rules.length === 1 ? '' : 's'}, hash ${config.hash}`,
  );
  return 0;
}
