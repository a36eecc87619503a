#!/usr/bin/env node
import { runCli } from './main.js';
import { redact } from './secrets.js';

// Whatever escapes (an etcd client's late error), it is printed without secrets (MISC-03).
const fatal = (err: unknown): void => {
  process.stderr.write(
    `error: ${redact(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`,
  );
  process.exit(2);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

process.exitCode = await runCli(process.argv.slice(2));
