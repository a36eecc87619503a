import { runWithGray } from '@graylane/node';
import {
  InMemoryProvider,
  OpenFeature,
  type Client,
  type EvaluationDetails,
  type Provider,
} from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrayContextHook } from '../src/server/index.js';
import { evalPath, startApp, type App } from './app.js';
import { flagdFlags, flagdInProcess, inMemoryFlags } from './flagd-provider.js';

// The same targeting twice: flagd's real evaluator over a flagd document, and the SDK's own
// InMemoryProvider with context evaluators. Neither knows graylane; both read `grayVersion`.
const providers: ReadonlyArray<[string, () => Provider]> = [
  ['flagd in-process (flagd-core)', () => flagdInProcess(flagdFlags)],
  ['InMemoryProvider', () => new InMemoryProvider(inMemoryFlags)],
];

// Requests that land on each lane through different graylane mechanisms.
const requests: ReadonlyArray<{ via: string; headers: Record<string, string>; lane?: string }> = [
  { via: 'header', headers: { 'x-gray-id': 'beta' }, lane: 'beta' },
  { via: 'cookie', headers: { cookie: 'gray=canary' }, lane: 'canary' },
  { via: 'baggage', headers: { baggage: 'gray=beta' }, lane: 'beta' },
  { via: 'rule', headers: { 'x-group': 'qa' }, lane: 'beta' },
  { via: 'split', headers: { 'x-user': 'u-1' } },
  { via: 'split', headers: { 'x-user': 'u-2' } },
  { via: 'split', headers: { 'x-user': 'u-3' } },
  { via: 'default', headers: {}, lane: 'stable' },
  { via: 'unknown marker', headers: { 'x-gray-id': 'gamma' }, lane: 'stable' },
];

describe.each(providers)('context hook + %s: an unrelated flag targets the lane', (name, make) => {
  let app: App;
  let flags: Client;
  const domain = `hook-${name}`;

  beforeAll(async () => {
    await OpenFeature.setProviderAndWait(domain, make());
    flags = OpenFeature.getClient(domain);
    flags.addHooks(createGrayContextHook());
    app = await startApp(async (flag, ctx) =>
      flag === 'banner'
        ? flags.getStringDetails(flag, 'code-default', ctx)
        : flags.getBooleanDetails(flag, false, ctx),
    );
  });
  afterAll(() => app.close());

  it.each(requests)('requests on lane beta get the beta variant (via $via)', async (req) => {
    const checkout = await app.get(evalPath('new-checkout'), req.headers);
    const banner = await app.get(evalPath('banner'), req.headers);
    if (req.lane) expect(checkout.lane).toBe(req.lane);
    const lane = checkout.lane!;
    expect(banner.lane).toBe(lane);
    const c = checkout.details as EvaluationDetails<boolean>;
    const b = banner.details as EvaluationDetails<string>;
    expect(c.errorCode).toBeUndefined();
    expect([c.value, c.variant]).toEqual(lane === 'beta' ? [true, 'on'] : [false, 'off']);
    expect(b.value).toBe(lane === 'stable' ? '' : 'Try the new checkout');
  });

  it('the 50/50 split reaches both variants, each matching its own lane', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        app.get(evalPath('new-checkout'), { 'x-user': `user-${i}` }),
      ),
    );
    const lanes = new Set(answers.map((a) => a.lane));
    expect(lanes).toEqual(new Set(['beta', 'stable']));
    for (const a of answers) {
      expect((a.details as EvaluationDetails<boolean>).value).toBe(a.lane === 'beta');
    }
  });

  it('I7 concurrent requests on different lanes never see each other’s variant', async () => {
    const lanes = ['beta', 'stable', 'canary'];
    const answers = await Promise.all(
      Array.from({ length: 45 }, (_, i) =>
        app.get(evalPath('banner'), { 'x-gray-id': lanes[i % 3]! }),
      ),
    );
    answers.forEach((a, i) => {
      expect(a.lane).toBe(lanes[i % 3]);
      expect((a.details as EvaluationDetails<string>).value).toBe(
        lanes[i % 3] === 'stable' ? '' : 'Try the new checkout',
      );
    });
  });

  it('inside a request the lane wins over a caller-supplied grayVersion', async () => {
    const a = await app.get(evalPath('new-checkout', { grayVersion: 'beta' }), {
      'x-gray-id': 'stable',
    });
    expect(a.lane).toBe('stable');
    expect((a.details as EvaluationDetails<boolean>).value).toBe(false);
  });

  it('outside a request the hook adds nothing: the caller’s context (or the flag default) applies', async () => {
    expect(await flags.getBooleanValue('new-checkout', false)).toBe(false);
    expect(await flags.getBooleanValue('new-checkout', false, { grayVersion: 'beta' })).toBe(true);
    expect(await runWithGray('beta', () => flags.getBooleanValue('new-checkout', false))).toBe(
      true,
    );
  });
});

describe('createGrayContextHook options', () => {
  it('key renames the attribute; a throwing accessor leaves the context unchanged', async () => {
    const seen: unknown[] = [];
    const probe = new InMemoryProvider({
      f: {
        disabled: false,
        variants: { a: 'a' },
        defaultVariant: 'a',
        contextEvaluator: (ctx) => {
          seen.push({ ...ctx });
          return 'a';
        },
      },
    });
    await OpenFeature.setProviderAndWait('hook-options', probe);
    const c = OpenFeature.getClient('hook-options');
    const renamed = createGrayContextHook({ key: 'lane' });
    await runWithGray('beta', () => c.getStringValue('f', 'x', {}, { hooks: [renamed] }));
    const broken = createGrayContextHook({
      getDecision: () => {
        throw new Error('boom');
      },
    });
    const d = await c.getStringDetails('f', 'x', { userId: 'u1' }, { hooks: [broken] });
    expect(d.errorCode).toBeUndefined();
    expect(seen).toEqual([{ lane: 'beta' }, { userId: 'u1' }]);
    expect(() => createGrayContextHook({ key: '' })).toThrow(/INVALID_OPTIONS|key/);
  });
});
