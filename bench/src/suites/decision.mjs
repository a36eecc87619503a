// Decision speed: graylane decide() vs GrowthBook, Unleash and OpenFeature doing the same rollout:
// N-1 targeting rules that do not match, then a 5% rollout bucketed on the user id.
import { once } from 'node:events';
import { decide, parseConfig } from '@graylane/core';
import { GrowthBookClient } from '@growthbook/growthbook';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { rulesDocument } from '../lib/fixtures.mjs';
import { compareOps, fmt, goal } from '../measure.mjs';

const USERS = Array.from({ length: 4096 }, (_, i) => `user-${i * 7919}`);

function graylaneConfig(n) {
  return parseConfig(rulesDocument(n));
}

function growthbook(n) {
  const rules = Array.from({ length: n - 1 }, (_, i) => ({
    condition: { plan: `plan-${i}` },
    force: 'beta',
  }));
  rules.push({ coverage: 0.05, force: 'beta', hashAttribute: 'userId' });
  const client = new GrowthBookClient({}).initSync({
    payload: { features: { lane: { defaultValue: 'stable', rules } } },
  });
  return (i) =>
    client.evalFeature('lane', { attributes: { userId: USERS[i & 4095], plan: 'free' } }).value;
}

async function unleash(n) {
  const strategies = Array.from({ length: n - 1 }, (_, i) => ({
    name: 'default',
    constraints: [{ contextName: 'plan', operator: 'IN', values: [`plan-${i}`] }],
  }));
  strategies.push({
    name: 'flexibleRollout',
    parameters: { rollout: '5', stickiness: 'userId', groupId: 'lane' },
  });
  const client = new Unleash({
    appName: 'bench',
    url: 'http://127.0.0.1:9/not-used',
    disableMetrics: true,
    refreshInterval: 0,
    skipInstanceCountWarning: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: {
      data: [
        {
          name: 'lane',
          enabled: true,
          strategies,
          variants: [],
          type: 'release',
          project: 'default',
          stale: false,
        },
      ],
    },
  });
  client.on('error', () => {});
  client.start?.();
  await once(client, 'ready');
  return {
    eval: (i) =>
      client.isEnabled('lane', { userId: USERS[i & 4095], properties: { plan: 'free' } }),
    client,
  };
}

async function openfeature(n) {
  const config = graylaneConfig(n);
  const provider = new InMemoryProvider({
    lane: {
      variants: { stable: 'stable', beta: 'beta' },
      defaultVariant: 'stable',
      disabled: false,
      // The in-memory provider has no targeting language: the equivalent rollout is graylane's.
      contextEvaluator: (ctx) =>
        decide(config, { attrs: { userId: ctx.targetingKey, plan: ctx.plan } }).version,
    },
  });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  return (i) =>
    client.getStringValue('lane', 'stable', { targetingKey: USERS[i & 4095], plan: 'free' });
}

export async function run({ quick }) {
  const rows = [];
  const goals = [];
  for (const n of quick ? [10] : [1, 10, 100]) {
    const config = graylaneConfig(n);
    const u = await unleash(n);
    const of = await openfeature(n);
    const ops = compareOps(
      {
        graylane: (i) =>
          decide(config, { attrs: { userId: USERS[i & 4095], plan: 'free' } }).version,
        growthbook: growthbook(n),
        unleash: u.eval,
        openfeature: of,
      },
      { rounds: quick ? 3 : 9, minMs: quick ? 60 : 150 },
    );
    u.client.destroy();
    rows.push([
      `${n} rule${n > 1 ? 's' : ''}`,
      fmt(ops.graylane),
      fmt(ops.growthbook),
      fmt(ops.unleash),
      fmt(ops.openfeature),
      `${(ops.graylane / ops.growthbook).toFixed(1)}×`,
      `${(ops.graylane / ops.unleash).toFixed(1)}×`,
    ]);
    if (n === 10)
      goals.push(
        goal('decide() ≥ 5× GrowthBook evalFeature on 10 rules', ops.graylane / ops.growthbook, 5),
      );
  }
  await OpenFeature.close();
  return {
    id: 'decision',
    title:
      'Decision: ops/s, same rollout (N−1 non-matching targeting rules, then 5% bucketed on userId)',
    header: [
      'config',
      'graylane decide',
      'GrowthBook evalFeature',
      'Unleash isEnabled',
      'OpenFeature (in-memory)',
      'vs GrowthBook',
      'vs Unleash',
    ],
    rows,
    goals,
  };
}
