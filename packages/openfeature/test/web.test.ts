// @vitest-environment happy-dom
/// <reference lib="dom" />
import { initGray, type GrayClient, type GrayOptions } from '@graylane/browser';
import {
  InMemoryProvider,
  OpenFeature,
  ProviderEvents,
  type EventDetails,
} from '@openfeature/web-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrayWebProvider, syncGrayContext } from '../src/web/index.js';
import { inMemoryFlags } from './flagd-provider.js';

const base = { versions: ['stable', 'beta', 'canary'], default: 'stable' } as const;

/**
 * A new client per test: `initGray` returns the existing client when called again with the same
 * options (StrictMode/HMR), so each call gets rules of its own identity (by default: none apply).
 */
function newClient(options: Partial<GrayOptions> = {}): GrayClient {
  return initGray({ ...base, rules: () => undefined, ...options });
}
let domains = 0;

function clearCookies(): void {
  for (const pair of document.cookie.split('; ').filter(Boolean)) {
    document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  }
}

afterEach(async () => {
  clearCookies();
  await OpenFeature.clearProviders();
  await OpenFeature.clearContexts();
});

async function setup(client: GrayClient, flagKey?: string) {
  const domain = `web-${++domains}`;
  const provider = createGrayWebProvider({ client, ...(flagKey ? { flagKey } : {}) });
  await OpenFeature.setProviderAndWait(domain, provider);
  const changes: EventDetails[] = [];
  const flags = OpenFeature.getClient(domain);
  flags.addHandler(ProviderEvents.ConfigurationChanged, (e) => void changes.push(e!));
  return { provider, flags, changes };
}

describe('web provider backed by a real @graylane/browser client', () => {
  it.each([
    ['default', () => newClient(), 'stable', 'DEFAULT'],
    [
      'cookie',
      () => ((document.cookie = 'gray=canary; Path=/'), newClient()),
      'canary',
      'TARGETING_MATCH',
    ],
    ['server', () => newClient({ serverVersion: 'beta' }), 'beta', 'TARGETING_MATCH'],
    [
      'rule',
      () => newClient({ rules: () => ({ version: 'beta', reason: 'rule' }) }),
      'beta',
      'TARGETING_MATCH',
    ],
    [
      'weight',
      () => newClient({ rules: () => ({ version: 'canary', reason: 'weight' }) }),
      'canary',
      'SPLIT',
    ],
  ] as const)(
    '%s assignment → the lane with its mapped reason',
    async (graylaneReason, make, version, reason) => {
      const { flags } = await setup(make());
      const d = flags.getStringDetails('gray-version', 'code-default');
      expect([d.value, d.variant, d.reason]).toEqual([version, version, reason]);
      expect(d.flagMetadata).toEqual({ decisionReason: graylaneReason, source: 'client' });
    },
  );

  it('QA switches and clearing the switch emit ConfigurationChanged; the flag follows', async () => {
    const gray = newClient();
    const { flags, changes } = await setup(gray);
    expect(gray.setGrayVersion('beta')).toBe(true);
    expect(flags.getStringDetails('gray-version', 'x')).toMatchObject({
      value: 'beta',
      reason: 'STATIC',
    });
    expect(gray.setGrayVersion('canary')).toBe(true);
    expect(flags.getStringDetails('gray-version', 'x')).toMatchObject({ value: 'canary' });
    gray.setGrayVersion('canary'); // same version: no event
    gray.setGrayVersion('gamma'); // unknown: refused, no event
    gray.clearGrayVersion(); // back to the default
    expect(flags.getStringDetails('gray-version', 'x')).toMatchObject({
      value: 'stable',
      reason: 'DEFAULT',
    });
    expect(changes.map((e) => e.flagsChanged)).toEqual([
      ['gray-version'],
      ['gray-version'],
      ['gray-version'],
    ]);
  });

  it('after the provider is replaced it stops listening to the client', async () => {
    const gray = newClient();
    const { provider, changes } = await setup(gray, 'lane');
    const emitted: unknown[] = [];
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, (e) => void emitted.push(e));
    gray.setGrayVersion('beta');
    await OpenFeature.clearProviders(); // calls onClose
    gray.setGrayVersion('canary');
    expect(changes.map((e) => e.flagsChanged)).toEqual([['lane']]);
    expect(emitted).toHaveLength(1);
  });

  it.each([
    ['boolean', 'gray-version', 'TYPE_MISMATCH'],
    ['number', 'gray-version', 'TYPE_MISMATCH'],
    ['object', 'gray-version', 'TYPE_MISMATCH'],
    ['string', 'checkout', 'FLAG_NOT_FOUND'],
    ['boolean', 'checkout', 'FLAG_NOT_FOUND'],
  ] as const)(
    'CONF-05 %s evaluation of %s → code default + %s, nothing thrown',
    async (kind, key, code) => {
      const { flags, provider } = await setup(newClient({ serverVersion: 'beta' }));
      const d =
        kind === 'boolean'
          ? flags.getBooleanDetails(key, true)
          : kind === 'number'
            ? flags.getNumberDetails(key, 7)
            : kind === 'object'
              ? flags.getObjectDetails(key, { d: 1 })
              : flags.getStringDetails(key, 'code-default');
      expect(d.value).toEqual(
        { boolean: true, number: 7, object: { d: 1 }, string: 'code-default' }[kind],
      );
      expect([d.reason, d.errorCode]).toEqual(['ERROR', code]);
      expect(provider.stats().errors[code]).toBe(1);
    },
  );

  it('a missing client is a construction error', () => {
    expect(() => createGrayWebProvider({} as never)).toThrow(/INVALID_OPTIONS|client/);
  });
});

describe('syncGrayContext: the lane in the static context, for any web provider', () => {
  const targeted = () => new InMemoryProvider(inMemoryFlags);

  it('an unrelated provider targets the lane, and re-targets when the lane changes', async () => {
    await OpenFeature.setContext({ userId: 'u-1' });
    await OpenFeature.setProviderAndWait(targeted());
    const flags = OpenFeature.getClient();
    const gray = newClient();
    const stop = syncGrayContext(gray);
    await new Promise((r) => setTimeout(r, 0));
    expect(OpenFeature.getContext()).toEqual({ userId: 'u-1', grayVersion: 'stable' });
    expect(flags.getBooleanValue('new-checkout', false)).toBe(false);
    gray.setGrayVersion('beta');
    await new Promise((r) => setTimeout(r, 0));
    expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
    stop();
    gray.setGrayVersion('stable');
    await new Promise((r) => setTimeout(r, 0));
    expect(OpenFeature.getContext()['grayVersion']).toBe('beta');
  });

  it('domain and key options write that domain’s context under that key', async () => {
    await OpenFeature.setContext({ app: 'shop' });
    const gray = newClient({ serverVersion: 'canary' });
    const stop = syncGrayContext(gray, { domain: 'checkout', key: 'lane' });
    await new Promise((r) => setTimeout(r, 0));
    expect(OpenFeature.getContext('checkout')).toEqual({ app: 'shop', lane: 'canary' });
    expect(OpenFeature.getContext()).toEqual({ app: 'shop' });
    stop();
  });

  it('a failing api never throws into the page', () => {
    const gray = newClient();
    const api = {
      getContext: () => {
        throw new Error('broken');
      },
      setContext: () => Promise.reject(new Error('broken')),
    };
    expect(() => syncGrayContext(gray, { api })()).not.toThrow();
    const rejecting = { getContext: () => ({}), setContext: () => Promise.reject(new Error('x')) };
    expect(() => syncGrayContext(gray, { api: rejecting })).not.toThrow();
  });
});

describe('syncGrayContext: the lane survives the app replacing its context', () => {
  const targeted = () => new InMemoryProvider(inMemoryFlags);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  // What apps do to the static context after start-up (login, logout, a reset between tests).
  const replacements: ReadonlyArray<[string, () => Promise<void>]> = [
    ['setContext on login', () => OpenFeature.setContext({ targetingKey: 'user-1' })],
    ['setContext({})', () => OpenFeature.setContext({})],
    ['clearContext()', () => OpenFeature.clearContext()],
    ['clearContexts()', () => OpenFeature.clearContexts()],
    [
      'setContext with a stale lane',
      () => OpenFeature.setContext({ targetingKey: 'u', grayVersion: 'stable' }),
    ],
  ];

  it.each(replacements)('%s: a flag targeting the lane still sees it', async (_n, replace) => {
    await OpenFeature.setProviderAndWait(targeted());
    const flags = OpenFeature.getClient();
    const stop = syncGrayContext(newClient({ serverVersion: 'beta' }));
    await settle();
    expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
    await replace();
    expect(OpenFeature.getContext()['grayVersion']).toBe('beta');
    expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
    stop();
    await OpenFeature.setContext({ after: 'stop' });
    expect(OpenFeature.getContext()).toEqual({ after: 'stop' });
  });

  it.each(replacements)(
    'a synced domain without a context of its own follows the global context (%s) and keeps the lane',
    async (_n, replace) => {
      const domain = `follow-${++domains}`;
      await OpenFeature.setProviderAndWait(domain, targeted());
      await OpenFeature.setContext({ app: 'shop' });
      const flags = OpenFeature.getClient(domain);
      const stop = syncGrayContext(newClient({ serverVersion: 'beta' }), { domain });
      await settle();
      expect(OpenFeature.getContext(domain)).toEqual({ app: 'shop', grayVersion: 'beta' });
      await replace();
      const global = OpenFeature.getContext();
      expect(OpenFeature.getContext(domain)).toEqual({ ...global, grayVersion: 'beta' });
      expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
      // The app gives the domain a context of its own: the lane joins it, and it stays the app's.
      await OpenFeature.setContext(domain, { region: 'eu' });
      expect(OpenFeature.getContext(domain)).toEqual({ region: 'eu', grayVersion: 'beta' });
      await OpenFeature.setContext({ app: 'other' });
      expect(OpenFeature.getContext(domain)).toEqual({ region: 'eu', grayVersion: 'beta' });
      stop();
    },
  );
});
