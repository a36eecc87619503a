import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium; never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium';

/** undefined when Chromium is there; else why the suite is skipped (a failure under CI=true). */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env['CI'] === 'true')
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return `${CHROMIUM} is missing (apt-get install chromium)`;
}

/** Launches Chromium with no network beyond loopback. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--headless',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
}
