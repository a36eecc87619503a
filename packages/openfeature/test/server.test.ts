import { runWithGray } from '@graylane/node';
import { OpenFeature, type Client, type EvaluationDetails } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrayServerProvider, type GrayServerProvider } from '../src/server/index.js';
import { evalPath, startApp, type App } from './app.js';

type Details = EvaluationDetails<string>;

let provider: GrayServerProvider;
let flags: Client;
let app: App;

beforeAll(async () => {
  provider = createGrayServerProvider();
  await OpenFeature.setProviderAndWait('graylane-server-test', provider);
  flags = OpenFeature.getClient('graylane-server-test');
  app = await startApp((flag) => flags.getStringDetails(flag, 'code-default'));
});
afterAll(async () => {
  await app.close();
  await OpenFeature.clearProviders();
});

const details = async (headers: Record<string, string>, query = '') => {
  const answer = await app.get(evalPath('gray-version', undefined, query), headers);
  return { lane: answer.lane, details: answer.details as Details };
};

describe('server provider through real HTTP requests into express + graylane', () => {
  // Every graylane reason the node middleware can produce, with the OpenFeature reason it maps to.
  const rows: ReadonlyArray<{
    name: string;
    headers?: Record<string, string>;
    query?: string;
    version: string | RegExp;
    reason: string;
    decisionReason: string;
    meta?: Record<string, unknown>;
  }> = [
    {
      name: 'HDR-01 nothing → DEFAULT',
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'default',
    },
    {
      name: 'HDR-03 header marker',
      headers: { 'x-gray-id': 'beta' },
      version: 'beta',
      reason: 'TARGETING_MATCH',
      decisionReason: 'header',
      meta: { source: 'header' },
    },
    {
      name: 'CK-01 cookie marker',
      headers: { cookie: 'gray=canary' },
      version: 'canary',
      reason: 'TARGETING_MATCH',
      decisionReason: 'cookie',
    },
    {
      name: 'QS-02 query marker (open mode)',
      query: '&gray=beta',
      version: 'beta',
      reason: 'TARGETING_MATCH',
      decisionReason: 'query',
    },
    {
      name: 'BG-01 baggage marker',
      headers: { baggage: 'k=v,gray=canary' },
      version: 'canary',
      reason: 'TARGETING_MATCH',
      decisionReason: 'baggage',
    },
    {
      name: 'rule match',
      headers: { 'x-group': 'qa' },
      version: 'beta',
      reason: 'TARGETING_MATCH',
      decisionReason: 'rule',
      meta: { ruleId: 'qa', source: 'rules' },
    },
    {
      name: 'weighted split',
      headers: { 'x-user': 'u-17' },
      version: /^(beta|stable)$/,
      reason: 'SPLIT',
      decisionReason: 'weight',
      meta: { ruleId: 'ramp' },
    },
    {
      name: 'WT outside the window',
      headers: { 'x-group': 'early' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'outside_window',
      meta: { ruleId: 'launch' },
    },
    {
      name: 'HDR-04 unknown version',
      headers: { 'x-gray-id': 'gamma' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'unknown_version',
      meta: { rejected: 'header:unknown' },
    },
    {
      name: 'HDR-07 ambiguous header',
      headers: { 'x-gray-id': 'beta, stable' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'invalid_marker',
      meta: { rejected: 'header:ambiguous' },
    },
    {
      name: 'HDR-11 __proto__ marker',
      headers: { 'x-gray-id': '__proto__' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'invalid_marker',
    },
    {
      name: 'CK-02 conflicting cookies',
      headers: { cookie: 'gray=beta; gray=stable' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'invalid_marker',
    },
    {
      name: 'BG-02 duplicate baggage member',
      headers: { baggage: 'gray=beta,gray=stable' },
      version: 'stable',
      reason: 'DEFAULT',
      decisionReason: 'invalid_marker',
    },
  ];

  it.each(rows)('$name', async (row) => {
    const { lane, details: d } = await details(row.headers ?? {}, row.query);
    expect(d.value).toMatch(row.version);
    expect(d.value).toBe(lane); // the flag is the lane the handler sees
    expect(d.variant).toBe(lane);
    expect(d.reason).toBe(row.reason);
    expect(d.errorCode).toBeUndefined();
    expect(d.flagMetadata['decisionReason']).toBe(row.decisionReason);
    expect(d.flagMetadata).toMatchObject(row.meta ?? {});
    if (row.decisionReason === 'weight')
      expect(d.flagMetadata['bucket']).toEqual(expect.any(Number));
  });

  it('I7 60 concurrent requests on three lanes each read their own lane', async () => {
    const lanes = ['stable', 'beta', 'canary'];
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => details({ 'x-gray-id': lanes[i % 3]! })),
    );
    answers.forEach((a, i) => {
      expect(a.details.value, `request ${i}`).toBe(lanes[i % 3]);
      expect(a.lane, `request ${i}`).toBe(lanes[i % 3]);
    });
  });

  it('runWithGray (jobs, consumers) → STATIC with the bound version', async () => {
    const d = await runWithGray('canary', () => flags.getStringDetails('gray-version', 'x'));
    expect([d.value, d.reason, d.flagMetadata['decisionReason']]).toEqual([
      'canary',
      'STATIC',
      'context',
    ]);
  });
});

describe('CONF-05 errors: code default returned, error code reported, nothing thrown', () => {
  const evaluations = {
    string: (c: Client, key: string) => c.getStringDetails(key, 'code-default'),
    boolean: (c: Client, key: string) => c.getBooleanDetails(key, true),
    number: (c: Client, key: string) => c.getNumberDetails(key, 42),
    object: (c: Client, key: string) => c.getObjectDetails(key, { code: 'default' }),
  };
  const defaults = {
    string: 'code-default',
    boolean: true,
    number: 42,
    object: { code: 'default' },
  };
  type Kind = keyof typeof evaluations;
  const kinds = Object.keys(evaluations) as Kind[];

  const cases: Array<[string, Kind, string, 'outside' | 'inside', string]> = [];
  for (const kind of kinds) {
    cases.push([
      `${kind} gray-version outside a request`,
      kind,
      'gray-version',
      'outside',
      kind === 'string' ? 'INVALID_CONTEXT' : 'TYPE_MISMATCH',
    ]);
    cases.push([
      `${kind} another flag inside a request`,
      kind,
      'checkout',
      'inside',
      'FLAG_NOT_FOUND',
    ]);
    cases.push([`${kind} another flag outside a request`, kind, '', 'outside', 'FLAG_NOT_FOUND']);
    if (kind !== 'string')
      cases.push([
        `${kind} gray-version inside a request`,
        kind,
        'gray-version',
        'inside',
        'TYPE_MISMATCH',
      ]);
  }

  it.each(cases)('CONF-05 %s', async (_name, kind, key, where, code) => {
    const run = () => evaluations[kind](flags, key);
    const d = where === 'inside' ? await runWithGray('beta', run) : await run();
    expect(d.value).toEqual(defaults[kind]);
    expect(d.reason).toBe('ERROR');
    expect(d.errorCode).toBe(code);
    expect(d.errorMessage).toEqual(expect.any(String));
  });

  it('CONF-05 an accessor that throws → GENERAL, counted; the caller still gets its default', async () => {
    const broken = createGrayServerProvider({
      getDecision: () => {
        throw new TypeError('store exploded');
      },
    });
    await OpenFeature.setProviderAndWait('graylane-broken', broken);
    const d = await OpenFeature.getClient('graylane-broken').getStringDetails(
      'gray-version',
      'safe',
    );
    expect([d.value, d.reason, d.errorCode]).toEqual(['safe', 'ERROR', 'GENERAL']);
    expect(d.errorMessage).toContain('store exploded');
    expect(broken.stats().errors.GENERAL).toBe(1);
  });

  it('CONF-05 counters: every fallback counted by error code, every lane counted as resolved', async () => {
    const counted = createGrayServerProvider({ flagKey: 'lane' });
    await OpenFeature.setProviderAndWait('graylane-counted', counted);
    const c = OpenFeature.getClient('graylane-counted');
    await c.getStringValue('lane', 'x');
    await c.getStringValue('gray-version', 'x');
    await c.getBooleanValue('lane', false);
    await runWithGray('beta', () => c.getStringValue('lane', 'x'));
    expect(counted.stats()).toEqual({
      resolved: 1,
      errors: { FLAG_NOT_FOUND: 1, TYPE_MISMATCH: 1, INVALID_CONTEXT: 1, GENERAL: 0 },
    });
  });

  it.each([[''], [7], ['x'.repeat(257)], [null]])(
    'a bad flagKey %j is a construction error (INVALID_OPTIONS)',
    (flagKey) => {
      expect(() => createGrayServerProvider({ flagKey: flagKey as string })).toThrow(
        expect.objectContaining({ name: 'GraylaneError', code: 'INVALID_OPTIONS' }),
      );
    },
  );
});
