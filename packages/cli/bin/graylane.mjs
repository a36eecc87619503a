#!/usr/bin/env node
// The `graylane` command. This shim is committed (dist/ is build output), so npm links the bin
// at install time even in a fresh clone where dist/ does not exist yet; it runs the built CLI.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    '[graylane] @graylane/cli is not built yet: run `npm run build` at the repository root ' +
      '(a published @graylane/cli ships dist/; reinstall it if this happens outside a clone).\n',
  );
  process.exit(2);
}
await import(entry.href);
