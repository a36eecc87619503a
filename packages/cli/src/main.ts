import { GraylaneError } from '@graylane/core';
import { bucket, bucketHelp } from './commands/bucket.js';
import { diff, diffHelp } from './commands/diff.js';
import { explain, explainHelp } from './commands/explain.js';
import { pause, pauseHelp } from './commands/pause.js';
import { sign, signHelp, verify, verifyHelp } from './commands/sign.js';
import { validate, validateHelp } from './commands/validate.js';
import { createRun, type Run } from './input/run.js';
import { registerUrlSecrets } from './location.js';
import { CliError, errorDocument, paint, processIo, redactingIo, type CliIo } from './io.js';
import { push, pushHelp } from './push/command.js';
import { render, renderHelp } from './render/command.js';
import { crashText, quoted } from './text.js';
import { CLI_VERSION } from './version.js';

type Command = (args: readonly string[], run: Run) => Promise<number>;

const COMMANDS: ReadonlyMap<string, { run: Command; help: string; summary: string }> = new Map([
  ['validate', { run: validate, help: validateHelp, summary: 'check a config file or etcd key' }],
  [
    'explain',
    { run: explain, help: explainHelp, summary: 'which version a request gets, and why' },
  ],
  ['sign', { run: sign, help: signHelp, summary: 'make a signed marker (debug token)' }],
  ['verify', { run: verify, help: verifyHelp, summary: 'check a signed marker' }],
  [
    'bucket',
    {
      run: bucket,
      help: bucketHelp,
      summary: 'the bucket of a subject, and what each split gives it',
    },
  ],
  [
    'render',
    { run: render, help: renderHelp, summary: 'nginx / Envoy routing snippets for the marker' },
  ],
  [
    'diff',
    { run: diff, help: diffHelp, summary: 'changed rules and sampled impact of a new config' },
  ],
  [
    'pause',
    { run: pause, help: pauseHelp, summary: 'freeze (or --resume) a scheduled ramp at a step' },
  ],
  [
    'push',
    {
      run: push,
      help: pushHelp,
      summary: 'validate, preview and write a config (compare-and-swap)',
    },
  ],
]);

export const mainHelp = `Usage: graylane <command> [options]

Commands:
${[...COMMANDS].map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join('\n')}

Wherever a command reads a file, - reads standard input.
Run \`graylane <command> --help\` for a command's options, \`graylane --version\` for the version.`;

/**
 * Runs the graylane command line with `argv` (without `node` and the script path) and returns
 * the exit code: 0 success, 1 a negative answer (invalid config or token), 2 a usage or I/O error
 * (`push` adds 3 for a conflict and 4 for "not confirmed"). Nothing it prints carries a password
 * from an `etcd://` URL or `GRAYLANE_ETCD_PASSWORD` (MISC-03). Rejects with `INVALID_OPTIONS` when
 * `argv` is not a list of strings.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['validate', 'rules.json']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string'))
    throw new GraylaneError('INVALID_OPTIONS', 'runCli: argv must be a list of strings');
  if (typeof io?.out !== 'function' || typeof io.err !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'runCli: io must have out() and err()');
  // Every etcd URL's password is a secret before the first line is printed, whatever the
  // argument's position: an unknown command or a usage error may echo it (MISC-03).
  for (const arg of argv) registerUrlSecrets(arg);
  const safe = redactingIo(io);
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    safe.out(`graylane ${CLI_VERSION}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    safe.out(mainHelp);
    return name ? 0 : 2;
  }
  const json = wantsJson(rest);
  const command = COMMANDS.get(name);
  if (!command) {
    const err = new CliError(`unknown command ${quoted(name)}`, 2, 'usage');
    safe.err(`${paint(safe, 'red', 'error')}: ${err.message}\n\n${mainHelp}`);
    if (json) safe.out(errorDocument(err));
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    safe.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, createRun(safe));
  } catch (err) {
    const failure = err instanceof CliError ? err : new CliError(crashText(err), 2, 'internal');
    safe.err(`${paint(safe, 'red', 'error')}: ${failure.message}`);
    // `--json` promises one JSON document on stdout for every outcome (the exit code unchanged).
    if (json) safe.out(errorDocument(failure));
    return failure.exitCode;
  }
}

/**
 * True when `--json` is among a command's options (before a `--`): then every failure, a usage
 * error included, is also printed as a JSON document on stdout.
 */
function wantsJson(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--json' || arg.startsWith('--json=')) return true;
  }
  return false;
}
