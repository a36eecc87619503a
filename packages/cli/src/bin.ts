#!/usr/bin/env node
import { runCli } from './main.js';
import { redact } from './secrets.js';
import { crashText } from './text.js';

// Whatever escapes (an etcd client's late error), it is printed without secrets (MISC-03) and
// without a control character from its message (I1).
const fatal = (err: unknown): void => {
  process.stderr.write(`error: ${redact(crashText(err))}\n`);
  process.exit(2);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

process.exitCode = await runCli(process.argv.slice(2));
