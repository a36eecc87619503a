/**
 * Debian's Chromium for the suites that drive a real page through playwright-core: where it
 * is, whether a suite runs, and one launch with the flags every suite needs. Nothing is ever
 * downloaded (`apt-get install chromium chromium-headless-shell`; `.ci/run` installs both).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium; never a downloaded one. The old headless shell (Debian's
 * `chromium-headless-shell`, what Playwright itself runs headless) when it is installed: the same
 * Blink and network stack without the full browser's window UI, which made every new context
 * cost ~1 s and ~2 s of CPU on two cores (measured: 10 context + page + load cycles 10.2 s and
 * 19.8 CPU-s with `chromium --headless`, 3.2 s and 5.3 CPU-s with the shell). Else the full
 * `chromium --headless`. `GRAYLANE_CHROMIUM` names another binary.
 */
export const CHROMIUM =
  process.env['GRAYLANE_CHROMIUM'] ||
  (['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].find((p) => existsSync(p)) ??
    '/usr/bin/chromium');

/** True when Debian's Chromium is installed (suites that need other tools too combine this). */
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/**
 * undefined when Chromium is there; else why `suite` is skipped. Under CI=true a missing
 * browser is a failure: this throws instead.
 */
export function chromiumMissing(suite: string): string | undefined {
  if (HAS_CHROMIUM) return undefined;
  const why = `${suite}: ${CHROMIUM} is missing (apt-get install chromium chromium-headless-shell)`;
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
