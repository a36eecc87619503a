import { coverageStats, installCoverage, runWithGray } from '@graylane/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memoryLogger, startTarget, type Target } from './harness.js';

/*
 * Issue 19: coverage's destinations are bounded (I2-style cardinality, for the stats, the status
 * page and the `destination` attribute of graylane.propagation): at most 50 distinct, then `other`.
 * I4: the work per call stays bounded however many hosts a process talks to.
 */

const targets: Target[] = [];
let uninstall: () => void;
const log = memoryLogger();

beforeAll(async () => {
  for (let i = 0; i < 60; i++) targets.push(await startTarget());
  uninstall = installCoverage({ logger: log.logger });
});
afterAll(async () => {
  uninstall();
  await Promise.all(targets.map((t) => t.close()));
});

it('I4 I8 60 destinations inside a lane → 50 rows of their own, the rest in `other`', async () => {
  const before = coverageStats().destinations;
  const total = (rows: typeof before) =>
    rows.reduce((n, r) => n + r.carried + r.missing + r.withheld, 0);
  await runWithGray(
    'beta',
    async () => {
      for (const t of targets) await (await fetch(`${t.origin}/`)).text();
    },
    { allowHosts: targets.slice(0, 30).map((t) => t.host) },
  );
  const after = coverageStats().destinations;
  expect(after).toHaveLength(51);
  expect(after.filter((r) => r.destination === 'other')).toHaveLength(1);
  expect(total(after) - total(before)).toBe(60);
  const own = after.filter((r) => targets.some((t) => t.origin === r.destination));
  expect(own).toHaveLength(Math.min(60, 50 - before.length));
  // The first 30 are allowlisted (missing), the next ones not (withheld), counted in order.
  for (const [i, t] of targets.entries()) {
    const row = after.find((r) => r.destination === t.origin);
    if (row === undefined) continue;
    expect(row.missing + row.withheld).toBe(1);
    expect(row.missing).toBe(i < 30 ? 1 : 0);
  }
  // Call sites are logged once each: all 30 missing calls come from one line.
  expect(log.lines.filter((l) => l.includes('left without the marker'))).toHaveLength(1);
});
