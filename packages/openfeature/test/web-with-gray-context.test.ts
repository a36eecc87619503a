// @vitest-environment happy-dom
/// <reference lib="dom" />
import { initGray, type GrayClient } from '@graylane/browser';
import {
  InMemoryProvider,
  OpenFeature,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderStatus,
  type EvaluationContext,
  type Hook,
  type Provider,
} from '@openfeature/web-sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { syncGrayContext, withGrayContext } from '../src/web/index.js';
import { inMemoryFlags } from './flagd-provider.js';
import { RemoteProvider } from './remote-provider.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stops: Array<() => void> = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  // A QA switch persists (cookie / storage): a later client would start on it.
  for (const pair of document.cookie.split('; ').filter(Boolean)) {
    document.cookie = `${pair.split('=')[0]}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  }
  sessionStorage.clear();
  localStorage.clear();
  await OpenFeature.clearProviders();
  await OpenFeature.clearContexts();
});

const lane = { versions: ['stable', 'beta'], default: 'stable' } as const;
/** A client on lane beta; new rules each time, as `initGray` reuses a client per options. */
function betaClient(): GrayClient {
  return initGray({ ...lane, serverVersion: 'beta', rules: () => undefined });
}

async function reconciled(): Promise<void> {
  const client = OpenFeature.getClient();
  for (let i = 0; i < 200 && client.providerStatus !== ProviderStatus.READY; i++) await sleep(2);
}

const lanes = (seen: readonly EvaluationContext[]) => seen.map((c) => c['grayVersion']);

describe('a provider that evaluates remotely per context keeps the lane through a context change', () => {
  // What apps do to the static context after start-up, and how slow the provider's request is.
  const changes: ReadonlyArray<[string, () => Promise<void>, EvaluationContext]> = [
    [
      'login: setContext({ targetingKey })',
      () => OpenFeature.setContext({ targetingKey: 'u-1' }),
      { targetingKey: 'u-1' },
    ],
    ['setContext({})', () => OpenFeature.setContext({}), {}],
    ['clearContext()', () => OpenFeature.clearContext(), {}],
    [
      'a stale lane: setContext({ grayVersion: "stable" })',
      () => OpenFeature.setContext({ grayVersion: 'stable' }),
      {},
    ],
  ];
  const rows = changes.flatMap(([name, change, app]) =>
    [0, 30].map((ms) => [name, ms, change, app] as const),
  );

  it.each(rows)(
    '%s, request %i ms: every request carries the lane, one per change',
    async (_n, ms, change, app) => {
      const gray = betaClient();
      stops.push(syncGrayContext(gray));
      const remote = new RemoteProvider([0, ms]);
      await OpenFeature.setProviderAndWait(withGrayContext(remote, gray), { targetingKey: 'anon' });
      const flags = OpenFeature.getClient();
      expect(flags.getBooleanValue('new-checkout', false)).toBe(true);

      await change();
      await reconciled();
      expect(lanes(remote.seen)).toEqual(['beta', 'beta']); // the sync's re-add asked nothing more
      expect(remote.seen.at(-1)).toEqual({ ...app, grayVersion: 'beta' });
      expect(OpenFeature.getContext()).toEqual({ ...app, grayVersion: 'beta' });
      expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
    },
  );

  it('without the wrapper the SDK hands the provider the app’s context before the sync can add the lane', async () => {
    // Why the wrapper exists (docs/openfeature.md): the order of the web SDK, not a timing accident.
    stops.push(syncGrayContext(betaClient()));
    const remote = new RemoteProvider([0, 30, 0]);
    await OpenFeature.setProviderAndWait(remote);
    await OpenFeature.setContext({ targetingKey: 'u-1' });
    await reconciled();
    expect(lanes(remote.seen)).toEqual(['beta', undefined, 'beta']);
    expect(OpenFeature.getClient().getBooleanValue('new-checkout', false)).toBe(false); // slow laneless answer won
  });

  it('a lane change reaches the provider as a context change from the old lane to the new one', async () => {
    const gray = betaClient();
    stops.push(syncGrayContext(gray));
    const remote = new RemoteProvider();
    await OpenFeature.setProviderAndWait(withGrayContext(remote, gray), { targetingKey: 'u-1' });
    const flags = OpenFeature.getClient();
    gray.setGrayVersion('stable');
    await reconciled();
    expect(flags.getBooleanValue('new-checkout', true)).toBe(false);
    gray.setGrayVersion('beta');
    await reconciled();
    expect(flags.getBooleanValue('new-checkout', false)).toBe(true);
    expect(lanes(remote.seen)).toEqual(['beta', 'stable', 'beta']);
  });

  it('a failed reconcile is the SDK’s error, and the same context is asked for again', async () => {
    const gray = betaClient();
    stops.push(syncGrayContext(gray));
    const remote = new RemoteProvider();
    let failures = 1;
    const flaky = Object.assign(Object.create(remote) as RemoteProvider, {
      onContextChange: async (old: EvaluationContext, next: EvaluationContext) => {
        await remote.onContextChange(old, next);
        if (failures-- > 0) throw new Error('offline');
      },
    });
    await OpenFeature.setProviderAndWait(withGrayContext(flaky, gray));
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await OpenFeature.setContext({ targetingKey: 'u-1' });
    logged.mockRestore();
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.ERROR);
    await OpenFeature.setContext({ targetingKey: 'u-1' });
    expect(OpenFeature.getClient().providerStatus).toBe(ProviderStatus.READY);
    expect(remote.seen).toHaveLength(3);
  });
});

describe('the context reaches a provider that reads it at evaluation', () => {
  it('no sync: resolve gets the lane', async () => {
    await OpenFeature.setProviderAndWait(
      withGrayContext(new InMemoryProvider(inMemoryFlags), betaClient()),
      { targetingKey: 'u' },
    );
    expect(OpenFeature.getContext()).toEqual({ targetingKey: 'u' });
    expect(OpenFeature.getClient().getBooleanValue('new-checkout', false)).toBe(true);
  });

  it('a domain given a context with no provider bound: the sync hears no event, the wrapped default provider still gets the lane', async () => {
    const gray = betaClient();
    stops.push(syncGrayContext(gray, { domain: 'unbound' }));
    await OpenFeature.setProviderAndWait(
      withGrayContext(new InMemoryProvider(inMemoryFlags), gray),
    );
    await OpenFeature.setContext('unbound', { targetingKey: 'u' });
    await sleep(5);
    expect(OpenFeature.getContext('unbound')).toEqual({ targetingKey: 'u' }); // docs: the one silent case
    expect(OpenFeature.getClient('unbound').getBooleanValue('new-checkout', false)).toBe(true);
  });
});

/** A provider that records the contexts and arguments of every call. */
function recording(extra: Partial<Provider> = {}) {
  const calls: Array<[string, unknown[]]> = [];
  const rec =
    <T>(name: string, answer: (...args: never[]) => T) =>
    (...args: unknown[]): T => {
      calls.push([name, args]);
      return answer(...(args as never[]));
    };
  const provider: Provider = {
    metadata: { name: 'recording' },
    runsOn: 'client',
    resolveBooleanEvaluation: rec('boolean', () => ({ value: true })),
    resolveStringEvaluation: rec('string', () => ({ value: 's' })),
    resolveNumberEvaluation: rec('number', () => ({ value: 1 })),
    resolveObjectEvaluation: rec('object', () => ({
      value: {},
    })) as Provider['resolveObjectEvaluation'],
    ...extra,
  };
  return { provider, calls, rec };
}

describe('withGrayContext forwards the provider faithfully', () => {
  const ctx = { targetingKey: 'u' };
  const withLane = { targetingKey: 'u', grayVersion: 'beta' };

  it.each([
    ['boolean', (c: ReturnType<typeof OpenFeature.getClient>) => c.getBooleanValue('f', false)],
    ['string', (c: ReturnType<typeof OpenFeature.getClient>) => c.getStringValue('f', '')],
    ['number', (c: ReturnType<typeof OpenFeature.getClient>) => c.getNumberValue('f', 0)],
    ['object', (c: ReturnType<typeof OpenFeature.getClient>) => c.getObjectValue('f', {})],
  ] as const)(
    'resolve %s: the lane is in the context, the rest as the SDK passed it',
    async (kind, evaluate) => {
      const { provider, calls } = recording();
      await OpenFeature.setProviderAndWait(withGrayContext(provider, betaClient()), ctx);
      evaluate(OpenFeature.getClient());
      const [name, args] = calls.at(-1)!;
      expect([name, args[0], args[2]]).toEqual([kind, 'f', withLane]);
      expect(args[3]).toBeDefined(); // the SDK's logger
    },
  );

  it('initialize gets the lane and the domain; onClose is forwarded', async () => {
    const { provider, calls, rec } = recording();
    const closed: unknown[] = [];
    Object.assign(provider, {
      initialize: rec('initialize', async () => undefined),
      onClose: async () => void closed.push(1),
    });
    await OpenFeature.setProviderAndWait('fwd-init', withGrayContext(provider, betaClient()), ctx);
    expect(calls).toEqual([['initialize', [withLane, 'fwd-init']]]);
    await OpenFeature.clearProviders();
    expect(closed).toEqual([1]);
  });

  it('a provider without initialize is ready at once, as unwrapped (no initialize, no onContextChange added)', () => {
    const wrapped = withGrayContext(recording().provider, betaClient());
    expect(
      ['initialize', 'onContextChange', 'onClose', 'track'].filter((m) => m in wrapped),
    ).toEqual([]);
    OpenFeature.setProvider('fwd-sync', wrapped);
    expect(OpenFeature.getClient('fwd-sync').providerStatus).toBe(ProviderStatus.READY);
  });

  it('track gets the lane', async () => {
    const { provider, calls, rec } = recording();
    Object.assign(provider, { track: rec('track', () => undefined) });
    await OpenFeature.setProviderAndWait(withGrayContext(provider, betaClient()), ctx);
    OpenFeature.getClient().track('bought', { value: 3 });
    expect(calls.at(-1)).toEqual(['track', ['bought', withLane, { value: 3 }]]);
  });

  it('metadata, events, hooks and runsOn are the provider’s own', async () => {
    const events = new OpenFeatureEventEmitter();
    const before: unknown[] = [];
    const hook: Hook = { before: (h) => void before.push(h.flagKey) };
    const { provider } = recording({ events, hooks: [hook] });
    const wrapped = withGrayContext(provider, betaClient());
    expect([wrapped.metadata, wrapped.events, wrapped.hooks, wrapped.runsOn]).toEqual([
      provider.metadata,
      events,
      [hook],
      'client',
    ]);
    await OpenFeature.setProviderAndWait(wrapped);
    const flags = OpenFeature.getClient();
    const heard: unknown[] = [];
    flags.addHandler(
      ProviderEvents.ConfigurationChanged,
      (d) => void heard.push([d?.providerName, d?.flagsChanged]),
    );
    events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: ['f'] });
    flags.getBooleanValue('f', false);
    expect([heard, before]).toEqual([[['recording', ['f']]], ['f']]);
    expect(() =>
      OpenFeature.setProvider(withGrayContext({ ...provider, runsOn: 'server' }, betaClient())),
    ).toThrow(/server/);
  });

  it('a client that throws: the context goes through unchanged, nothing throws', async () => {
    const { provider, calls } = recording();
    const broken = {
      getGrayVersion: () => {
        throw new Error('x');
      },
      getGrayReason: () => '',
      subscribe: () => () => undefined,
    };
    await OpenFeature.setProviderAndWait(withGrayContext(provider, broken), ctx);
    expect(OpenFeature.getClient().getBooleanValue('f', false)).toBe(true);
    expect(calls.at(-1)?.[1][2]).toEqual(ctx);
  });

  it.each([
    ['no provider', () => withGrayContext(undefined as never, betaClient())],
    ['no client', () => withGrayContext(recording().provider, undefined as never)],
    ['an empty key', () => withGrayContext(recording().provider, betaClient(), { key: '' })],
  ])('%s is a construction error', (_n, make) => {
    expect(make).toThrow(/INVALID_OPTIONS|must be/);
  });
});
