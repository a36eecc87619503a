// Bundled by esbuild into the test page: the real web SDK, the real browser client, our provider.
import { initGray, withGray } from '@graylane/browser';
import { InMemoryProvider, OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { createGrayWebProvider, syncGrayContext } from '../../src/web/index.js';
import { inMemoryFlags } from '../flagd-provider.js';

const gray = initGray({ versions: ['stable', 'beta'], default: 'stable' });
syncGrayContext(gray);
const lanes = OpenFeature.getClient('graylane');
const flags = OpenFeature.getClient();
const changes: string[][] = [];
lanes.addHandler(
  ProviderEvents.ConfigurationChanged,
  (e) => void changes.push(e?.flagsChanged ?? []),
);

const ready = Promise.all([
  OpenFeature.setProviderAndWait('graylane', createGrayWebProvider({ client: gray })),
  OpenFeature.setProviderAndWait(new InMemoryProvider(inMemoryFlags)),
]);

Object.assign(window, {
  ready: () => ready.then(() => true),
  snapshot: () => {
    const d = lanes.getStringDetails('gray-version', 'code-default');
    return {
      lane: d.value,
      reason: d.reason,
      decisionReason: d.flagMetadata['decisionReason'],
      newCheckout: flags.getBooleanValue('new-checkout', false),
      context: OpenFeature.getContext(),
      changes,
    };
  },
  // A same-origin call through graylane's fetch wrapper: the server may assign a version.
  call: async (path: string) => (await withGray(fetch)(path)).text(),
  qa: (version: string) => gray.setGrayVersion(version),
  // What an app does on login: it replaces the whole OpenFeature context.
  login: (user: string) => OpenFeature.setContext({ targetingKey: user }),
});
