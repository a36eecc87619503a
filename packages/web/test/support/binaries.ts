import { existsSync } from 'node:fs';

/** Deno and Bun as CI installs them: from npm, into fixed prefixes (see the CI script). */
export const DENO =
  process.env['GRAYLANE_DENO'] ?? '/opt/deno/node_modules/@deno/linux-x64-glibc/deno';
export const BUN = process.env['GRAYLANE_BUN'] ?? '/opt/bun/node_modules/bun/bin/bun.exe';

/** undefined when `path` exists, else the reason the suite is skipped (printed). */
export function binaryMissing(path: string, install: string): string | undefined {
  return existsSync(path) ? undefined : `${path} is missing (${install})`;
}
