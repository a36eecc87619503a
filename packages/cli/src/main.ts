import { bucket, bucketHelp } from './commands/bucket.js';
import { diff, diffHelp } from './commands/diff.js';
import { explain, explainHelp } from './commands/explain.js';
import { render, renderHelp } from './commands/render.js';
import { sign, signHelp, verify, verifyHelp } from './commands/sign.js';
import { validate, validateHelp } from './commands/validate.js';
import { CliError, paint, processIo, type CliIo } from './io.js';

type Command = (args: readonly string[], io: CliIo) => Promise<number>;

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
]);

export const mainHelp = `Usage: graylane <command> [options]

Commands:
${[...COMMANDS].map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`).join('\n')}

Run \`graylane <command> --help\` for a command's options.`;

/**
 * Runs the graylane command line with `argv` (without `node` and the script path) and returns
 * the exit code: 0 success, 1 a negative answer (invalid config or token), 2 a usage or I/O error.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['validate', 'rules.json']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp);
    return name ? 0 : 2;
  }
  const command = COMMANDS.get(name);
  if (!command) {
    io.err(`${paint(io, 'red', 'error')}: unknown command ${JSON.stringify(name)}\n\n${mainHelp}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`${paint(io, 'red', 'error')}: ${err.message}`);
      return err.exitCode;
    }
    io.err(`${paint(io, 'red', 'error')}: ${(err as Error)?.stack ?? String(err)}`);
    return 2;
  }
}
