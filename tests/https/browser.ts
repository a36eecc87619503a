import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../tools/chromium.js';
import type { Seen, Service } from './service.js';

export { HAS_CHROMIUM } from '../../tools/chromium.js';

/** How long a request may take to reach a service after the page sent it. */
const ARRIVAL_MS = 5_000;

/**
 * Chromium that trusts the test's CA by its SPKI pin (no NSS database, nothing installed), and
 * resolves no name but loopback.
 */
export function launch(caSpki: string): Promise<Browser> {
  return launchChromium([`--ignore-certificate-errors-spki-list=${caSpki}`]);
}

/** The four carriers a page view uses, each tagged with its own id. */
export const KINDS = ['navigation', 'fetch', 'plain-fetch', 'beacon'] as const;
export type Kind = (typeof KINDS)[number];

/** What the page reports about itself. */
export interface PageState {
  readonly href: string;
  readonly secure: boolean;
  readonly version: string;
  readonly reason: string;
}

export function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const gray = (
      window as unknown as { gray: { getGrayVersion(): string; getGrayReason(): string } }
    ).gray;
    return {
      href: location.href,
      secure: window.isSecureContext,
      version: gray.getGrayVersion(),
      reason: gray.getGrayReason(),
    };
  });
}

/** The page's QA switch, `gray.setGrayVersion(version)`. */
export function setGrayVersion(page: Page, version: string): Promise<boolean> {
  return page.evaluate((v) => {
    const w = window as unknown as { gray: { setGrayVersion(v: string): boolean } };
    return w.gray.setGrayVersion(v);
  }, version);
}

/**
 * The rest of a page view, then the next one, from `page` (already on `origin`): a `withGray`
 * fetch, a plain `fetch` (cookie only) and a `navigator.sendBeacon` (cookie only), then a click
 * on a link to the next document (cookie only). Each request is tagged with its own id; returns
 * what the services saw, by kind.
 */
export async function sendAll(
  page: Page,
  origin: string,
  tag: string,
  services: readonly Service[],
): Promise<Record<Kind, Seen[]>> {
  const ids = Object.fromEntries(KINDS.map((k) => [k, `${tag}-${k}`])) as Record<Kind, string>;
  const sent = await page.evaluate(async (i) => {
    const w = window as unknown as { api: typeof fetch };
    const a = await w.api(`/api/ping?id=${i.fetch}`);
    const b = await fetch(`/api/ping?id=${i['plain-fetch']}`);
    const queued = navigator.sendBeacon(`/beacon?id=${i.beacon}`, 'bye');
    (document.getElementById('next') as HTMLAnchorElement).href = `/next?id=${i.navigation}`;
    return { fetch: a.status, plain: b.status, queued };
  }, ids);
  if (sent.fetch !== 200 || sent.plain !== 200 || !sent.queued)
    throw new Error(`the page could not send: ${JSON.stringify(sent)}`);
  await Promise.all([page.waitForURL(`${origin}/next?id=${ids.navigation}`), page.click('#next')]);
  await page.waitForLoadState('load');
  return arrivals(ids, services);
}

async function arrivals(
  ids: Record<Kind, string>,
  services: readonly Service[],
): Promise<Record<Kind, Seen[]>> {
  const collect = () =>
    Object.fromEntries(
      KINDS.map((k) => [k, services.flatMap((s) => s.seen.filter((r) => r.id === ids[k]))]),
    ) as Record<Kind, Seen[]>;
  const until = Date.now() + ARRIVAL_MS;
  let got = collect();
  while (KINDS.some((k) => got[k].length === 0) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    got = collect();
  }
  return got;
}
