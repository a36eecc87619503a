import { parse } from '../args.js';
import { CliError, paint } from '../io.js';
import type { Run } from '../input/run.js';
import { loadConfig, type LoadedConfig } from '../load.js';
import { redact } from '../secrets.js';

export const validateHelp = `Usage: graylane validate <file | - | etcd://host:port/key> [--json]

Checks a config document. Exit 0 when valid; otherwise exit 1 and every problem
with its JSON path, one per line. Warnings (e.g. an empty prefix) never fail.
--json prints {"ok", "location", "errors": [{"path", "message"}], "warnings": […],
"config": {"versions", "default", "rules", "hash"}} instead (same exit codes); when the
config cannot be read, {"ok": false, "error", "exitCode"} (exit 2).`;

export async function validate(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } }, validateHelp);
  const [location] = positionals;
  if (!location || positionals.length !== 1) throw new CliError(validateHelp);
  const { result, display } = values.json
    ? await loadOrReport(location, run)
    : await loadConfig(location, run);
  if (values.json) {
    run.out(
      JSON.stringify(
        {
          ok: result.ok,
          location: display,
          errors: result.ok ? [] : result.errors,
          warnings: result.warnings,
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
  for (const w of result.warnings)
    run.out(`${paint(run, 'yellow', 'warning')} ${w.path}: ${w.message}`);
  if (!result.ok) {
    for (const e of result.errors) run.out(`${paint(run, 'red', 'error')} ${e.path}: ${e.message}`);
    run.out(`${display}: ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}`);
    return 1;
  }
  const { config } = result;
  run.out(
    `${paint(run, 'green', 'ok')} ${display}: versions ${config.versions.join(', ')} (default ${config.default}), ` +
      `${config.rules.length} active rule${config.rules.length === 1 ? '' : 's'}, hash ${config.hash}`,
  );
  return 0;
}

/**
 * `--json` promises an answer on stdout for every outcome, I/O errors included (as `push --json`
 * does): `{"ok": false, "error", "exitCode"}`, the error scrubbed as stderr is (MISC-03).
 */
async function loadOrReport(location: string, run: Run): Promise<LoadedConfig> {
  try {
    return await loadConfig(location, run);
  } catch (err) {
    if (err instanceof CliError)
      run.out(
        JSON.stringify({ ok: false, error: redact(err.message), exitCode: err.exitCode }, null, 2),
      );
    throw err;
  }
}
