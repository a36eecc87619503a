/**
 * Debian's Chromium for the suites that drive a real page through playwright-core: where it
 * is, whether a suite runs, and one launch with the flags every suite needs. Nothing is ever
 * downloaded (`apt-get install chromium`; `.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium; never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium';

/** True when Debian's Chromium is installed (suites that need other tools too combine this). */
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/**
 * undefined when Chromium is there; else why `suite` is skipped. Under CI=true a missing
 * browser is a failure: this throws instead.
 */
export function chromiumMissing(suite: string): string | undefined {
  if (HAS_CHROMIUM) return undefined;
  const why = `${suite}: ${CHROMIUM} is missing (apt-get install chromium)`;
  if (process.env['CI'] === 'true') throw new Error(why);
  return why;
}

/**
 * Launches Chromium headless with no network beyond loopback: no background or component
 * traffic, no QUIC, and every name but `localhost` and 127.0.0.1 fails to resolve.
 * `extraArgs` adds flags (a test CA's pin).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
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
      ...extraArgs,
    ],
  });
}
