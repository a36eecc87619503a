// @vitest-environment happy-dom
/// <reference lib="dom" />
/**
 * The web provider emits ConfigurationChanged when the lane's REASON changes with the version on
 * screen unchanged (a QA choice of the current version: default → manual; clearing it back),
 * because the evaluation details it serves change (reason, flagMetadata.decisionReason). It
 * relies on `@graylane/browser`'s `subscribe`, which told version changes only.
 */
import { initGray, type GrayClient, type GrayOptions } from '@graylane/browser';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrayWebProvider } from '../src/web/index.js';

const base = { versions: ['stable', 'beta'], default: 'stable' } as const;
let domains = 0;

afterEach(async () => {
  for (const pair of document.cookie.split('; ').filter(Boolean))
    document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  await OpenFeature.clearProviders();
});

/** A new client per row (fresh rules identity: `initGray` reuses a client for equal options). */
function client(extra: Partial<GrayOptions> = {}): GrayClient {
  return initGray({ ...base, rules: () => undefined, ...extra });
}

describe('web provider: a reason-only change is a configuration change', () => {
  it.each<[string, () => GrayClient, (c: GrayClient) => unknown, number, string]>([
    [
      'default → manual (pin stable)',
      () => client(),
      (c) => c.setGrayVersion('stable'),
      1,
      'manual',
    ],
    [
      'cookie → manual',
      () => ((document.cookie = 'gray=stable; Path=/'), client()),
      (c) => c.setGrayVersion('stable'),
      1,
      'manual',
    ],
    [
      'server → manual',
      () => client({ serverVersion: 'beta' }),
      (c) => c.setGrayVersion('beta'),
      1,
      'manual',
    ],
    [
      'rule → manual',
      () => client({ rules: () => ({ version: 'beta', reason: 'rule' }) }),
      (c) => c.setGrayVersion('beta'),
      1,
      'manual',
    ],
    [
      'manual → default (clear)',
      () => {
        const c = client();
        c.setGrayVersion('stable');
        return c;
      },
      (c) => c.clearGrayVersion(),
      1,
      'default',
    ],
    [
      'manual → manual (nothing changes)',
      () => {
        const c = client();
        c.setGrayVersion('stable');
        return c;
      },
      (c) => c.setGrayVersion('stable'),
      0,
      'manual',
    ],
    [
      'default → default (clear, nothing changes)',
      () => client(),
      (c) => c.clearGrayVersion(),
      0,
      'default',
    ],
    [
      'a version change still emits once',
      () => client(),
      (c) => c.setGrayVersion('beta'),
      1,
      'manual',
    ],
  ])('%s', async (_what, make, act, events, decisionReason) => {
    const gray = make();
    const domain = `reason-${++domains}`;
    await OpenFeature.setProviderAndWait(domain, createGrayWebProvider({ client: gray }));
    const flags = OpenFeature.getClient(domain);
    let emitted = 0;
    flags.addHandler(ProviderEvents.ConfigurationChanged, () => void emitted++);
    act(gray);
    await new Promise((r) => setTimeout(r, 10));
    expect(emitted).toBe(events);
    const details = flags.getStringDetails('gray-version', 'x');
    expect(details.value).toBe(gray.getGrayVersion());
    expect(details.flagMetadata['decisionReason']).toBe(decisionReason);
  });
});
