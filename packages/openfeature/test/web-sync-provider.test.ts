// @vitest-environment happy-dom
/// <reference lib="dom" />
import { initGray } from '@graylane/browser';
import {
  InMemoryProvider,
  OpenFeature,
  ProviderEvents,
  ProviderStatus,
  type EvaluationContext,
  type Provider,
} from '@openfeature/web-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { syncGrayContext } from '../src/web/index.js';
import { inMemoryFlags } from './flagd-provider.js';
import { RemoteProvider } from './remote-provider.js';

// The app sets its flag provider together with a context, or gives a domain a context before it
// binds the domain's provider. The web SDK replaces the context then without Reconciling or
// ContextChanged (it emits only Ready), so the sync has to hear Ready too. Each row runs against a
// provider without `initialize` (InMemoryProvider: Ready is emitted synchronously, before the SDK
// installs the provider) and one that evaluates remotely in `initialize` / `onContextChange`.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Until the domain's provider is ready and reconciled (setProvider does not wait for it). */
async function settled(domain: string | undefined): Promise<void> {
  const client = OpenFeature.getClient(domain);
  for (let i = 0; i < 200 && client.providerStatus !== ProviderStatus.READY; i++) await sleep(2);
}
const login: EvaluationContext = { targetingKey: 'user-1' };
let domains = 0;
const stops: Array<() => void> = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await OpenFeature.clearProviders();
  await OpenFeature.clearContexts();
});

const kinds: ReadonlyArray<[string, () => Provider & { seen?: EvaluationContext[] }]> = [
  ['in-memory (no initialize)', () => new InMemoryProvider(inMemoryFlags)],
  ['remote (bulk evaluation per context)', () => new RemoteProvider()],
];

type Scenario = (provider: Provider, domain: string | undefined) => Promise<void>;
const scenarios: ReadonlyArray<[string, 'global' | 'domain', Scenario]> = [
  [
    'setProviderAndWait(provider, context)',
    'global',
    (p) => OpenFeature.setProviderAndWait(p, login),
  ],
  ['setProvider(provider, context)', 'global', async (p) => void OpenFeature.setProvider(p, login)],
  [
    'a provider replaced by setProviderAndWait(provider, context)',
    'global',
    async (p) => {
      await OpenFeature.setProviderAndWait(new InMemoryProvider(inMemoryFlags));
      await OpenFeature.setProviderAndWait(p, login);
    },
  ],
  [
    'setContext(context) before any provider, then setProviderAndWait(provider)',
    'global',
    async (p) => {
      await OpenFeature.setContext(login);
      await OpenFeature.setProviderAndWait(p);
    },
  ],
  [
    'setContext(domain, context) on an unbound domain, then setProviderAndWait(domain, provider)',
    'domain',
    async (p, d) => {
      await OpenFeature.setContext(d!, login);
      await OpenFeature.setProviderAndWait(d!, p);
    },
  ],
  [
    'setProviderAndWait(domain, provider, context)',
    'domain',
    (p, d) => OpenFeature.setProviderAndWait(d!, p, login),
  ],
  [
    'setProvider(domain, provider, context)',
    'domain',
    async (p, d) => void OpenFeature.setProvider(d!, p, login),
  ],
  [
    'the domain’s provider replaced by setProviderAndWait(domain, provider, context)',
    'domain',
    async (p, d) => {
      await OpenFeature.setProviderAndWait(d!, new InMemoryProvider(inMemoryFlags));
      await OpenFeature.setProviderAndWait(d!, p, login);
    },
  ],
];

const rows = scenarios.flatMap(([name, scope, run]) =>
  kinds.map(([kind, make]) => [name, kind, scope, run, make] as const),
);

describe('syncGrayContext: the lane survives a provider set with a context', () => {
  it.each(rows)('%s, %s provider: targeting on grayVersion still sees the lane', async (...row) => {
    const [, , scope, run, make] = row;
    const domain = scope === 'domain' ? `bound-${++domains}` : undefined;
    const gray = initGray({
      versions: ['stable', 'beta'],
      default: 'stable',
      serverVersion: 'beta',
    });
    stops.push(syncGrayContext(gray, domain === undefined ? {} : { domain }));
    const provider = make();
    await run(provider, domain);
    await settled(domain);

    expect(OpenFeature.getContext(domain)).toEqual({ ...login, grayVersion: 'beta' });
    expect(OpenFeature.getClient(domain).getBooleanValue('new-checkout', false)).toBe(true);
    if (provider.seen) expect(provider.seen.at(-1)).toEqual({ ...login, grayVersion: 'beta' });

    // The sync's own write triggers the events it listens to: it must settle, not loop.
    let events = 0;
    const count = () => void events++;
    OpenFeature.addHandler(ProviderEvents.ContextChanged, count);
    OpenFeature.addHandler(ProviderEvents.Reconciling, count);
    const requests = provider.seen?.length;
    await sleep(10);
    OpenFeature.removeHandler(ProviderEvents.ContextChanged, count);
    OpenFeature.removeHandler(ProviderEvents.Reconciling, count);
    expect(events).toBe(0);
    expect(provider.seen?.length).toBe(requests);
    if (provider.seen) expect(provider.seen.length).toBeLessThanOrEqual(3);
  });
});
