// Decision speed: graylane decide() vs GrowthBook, Unleash and OpenFeature doing the same rollout:
// N-1 targeting rules that do not match, then a 5% rollout bucketed on the user id.
// Each peer also in its fairest configuration (issue 20): GrowthBook bundled for production
// (esbuild, `process.env.NODE_ENV` inlined as "production"; as installed it reads `process.env`
// once per rule), Unleash with metrics on (as deployed) and off.
import { build } from 'esbuild';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decide, parseConfig } from '@graylane/core';
import { GrowthBookClient } from '@growthbook/growthbook';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { rulesDocument } from '../lib/fixtures.mjs';
import { compareOpsRounds, fmt, roundRatios } from '../measure.mjs';
import { fmtRatio, ratioGoal } from '../lib/stats.mjs';

const USERS = Array.from({ length: 4096 }, (_, i) => `user-${i * 7919}`);

function graylaneConfig(n) {
  return parseConfig(rulesDocument(n));
}

/** GrowthBook as a production bundle would ship it: NODE_ENV inlined, dead branches dropped. */
async function bundledGrowthBook() {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-bench-gb-'));
  try {
    const outfile = join(dir, 'growthbook.mjs');
    await build({
      stdin: {
        contents: "export { GrowthBookClient } from '@growthbook/growthbook';",
        resolveDir: import.meta.dirname,
      },
      bundle: true,
      format: 'esm',
      platform: 'node',
      minify: true,
      define: { 'process.env.NODE_ENV': '"production"' },
      outfile,
      logLevel: 'silent',
    });
    return (await import(pathToFileURL(outfile).href)).GrowthBookClient;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function growthbook(n, Client = GrowthBookClient) {
  const rules = Array.from({ length: n - 1 }, (_, i) => ({
    condition: { plan: `plan-${i}` },
    force: 'beta',
  }));
  rules.push({ coverage: 0.05, force: 'beta', hashAttribute: 'userId' });
  const client = new Client({}).initSync({
    payload: { features: { lane: { defaultValue: 'stable', rules } } },
  });
  return (i) =>
    client.evalFeature('lane', { attributes: { userId: USERS[i & 4095], plan: 'free' } }).value;
}

async function unleash(n, { metrics = false } = {}) {
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
    disableMetrics: !metrics,
    // Metrics on: every isEnabled counts; the (unreachable) upload interval never fires in a run.
    metricsInterval: 3_600_000,
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
  const GrowthBookBundled = await bundledGrowthBook();
  for (const n of quick ? [10] : [1, 10, 100]) {
    const config = graylaneConfig(n);
    const u = await unleash(n);
    const um = await unleash(n, { metrics: true });
    const of = await openfeature(n);
    const { median: ops, rounds } = compareOpsRounds(
      {
        graylane: (i) =>
          decide(config, { attrs: { userId: USERS[i & 4095], plan: 'free' } }).version,
        growthbook: growthbook(n),
        growthbookBundled: growthbook(n, GrowthBookBundled),
        unleash: u.eval,
        unleashMetrics: um.eval,
        openfeature: of,
      },
      { rounds: quick ? 3 : 9, minMs: quick ? 60 : 150 },
    );
    u.client.destroy();
    um.client.destroy();
    const vsBundled = roundRatios(rounds, 'graylane', 'growthbookBundled');
    rows.push([
      `${n} rule${n > 1 ? 's' : ''}`,
      fmt(ops.graylane),
      fmt(ops.growthbook),
      fmt(ops.growthbookBundled),
      fmt(ops.unleash),
      fmt(ops.unleashMetrics),
      fmt(ops.openfeature),
      fmtRatio(roundRatios(rounds, 'graylane', 'growthbook')),
      fmtRatio(vsBundled),
      fmtRatio(roundRatios(rounds, 'graylane', 'unleash')),
    ]);
    if (n === 10)
      goals.push(
        ratioGoal(
          'decide() ≥ 5× GrowthBook (bundled for production, its fairest) on 10 rules',
          vsBundled,
          5,
          '>=',
        ),
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
      'GrowthBook (as installed)',
      'GrowthBook (bundled, NODE_ENV inlined)',
      'Unleash isEnabled (metrics off)',
      'Unleash (metrics on)',
      'OpenFeature (in-memory)',
      'vs GrowthBook installed',
      'vs GrowthBook bundled',
      'vs Unleash (metrics off)',
    ],
    rows,
    goals,
    notes:
      'Ratios are the median (min–max) of per-round ratios (interleaved rounds). GrowthBook as installed resolves `process.env.NODE_ENV` at run time on every rule; a production bundle inlines it, which is the configuration the goal is judged against. Unleash counts every evaluation when metrics are on (its default).',
  };
}
