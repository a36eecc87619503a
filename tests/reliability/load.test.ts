import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createConfigStore } from '@graylane/core';
import { createGraylane, getGrayVersion, nodeRegexEngine } from '@graylane/node';
import { closeAll, keepAliveLoad, listen, percentile, type LoadResult } from './helpers.js';

/**
 * LD-01..LD-03 (RELIABILITY §7), short: a few seconds per phase, 50 keep-alive connections,
 * the client in the same process (it shares the 2 cores, like autocannon in the bar's baseline).
 * Only robust facts are asserted (0 errors, 0 non-2xx, version count == reload count, benign
 * requests answered correctly while adversarial ones are in the mix). Throughput and p99 ratios
 * against a bare-ALS baseline measured in this same test are printed, never asserted (the
 * project rule: no timed assertions in unit tests; `npm run bench` asserts ratios).
 */
const PHASE_MS = Number(process.env['GRAYLANE_LOAD_PHASE_MS']) || 3_000;
const CONNECTIONS = 50;

afterAll(closeAll);

function rulesDoc(def: 'stable' | 'beta'): Record<string, unknown> {
  const rules = Array.from({ length: 100 }, (_, i) =>
    i % 10 === 9
      ? {
          id: `re${i}`,
          match: { header: { 'x-user': { regex: i === 99 ? '^(a+)+$' : `^svc-${i}-[a-z]+$` } } },
          version: 'beta',
        }
      : { id: `eq${i}`, match: { header: { 'x-user': { equals: `user-${i}` } } }, version: 'beta' },
  );
  return { versions: ['stable', 'beta'], default: def, rules };
}

/** 50% header, 25% cookie, 25% baggage; one in five markers unknown so the 100 rules run. */
function benign(i: number): { headers: Record<string, string>; tag: string } {
  const value = i % 5 === 4 ? 'gamma' : 'beta';
  const expected = value === 'beta' ? 'beta' : '';
  const user = { 'x-user': `user-${i % 150}` };
  if (i % 4 < 2) return { headers: { ...user, 'x-gray-id': value }, tag: `benign:${expected}` };
  if (i % 4 === 2)
    return { headers: { ...user, cookie: `a=1; gray=${value}` }, tag: `benign:${expected}` };
  return { headers: { ...user, baggage: `k=v,gray=${value}` }, tag: `benign:${expected}` };
}

/** LD-03: 10% adversarial inputs, kept under Node's 16 KiB header limit (HDR-09 covers 431). */
function adversarial(i: number): { headers: Record<string, string>; tag: string } {
  const kind = i % 4;
  const headers: Record<string, string> =
    kind === 0
      ? { 'x-gray-id': 'a'.repeat(12_000) }
      : kind === 1
        ? { cookie: Array.from({ length: 200 }, (_, k) => `c${k}=${'x'.repeat(20)}`).join('; ') }
        : kind === 2
          ? {
              baggage:
                Array.from({ length: 400 }, (_, k) => `k${k}=${'v'.repeat(20)}`).join(',') +
                ',gray=beta',
            }
          : { 'x-user': `${'a'.repeat(255)}!` }; // CFG-10 subject against ^(a+)+$
  return { headers, tag: 'adversarial' };
}

function summary(name: string, r: LoadResult, base?: LoadResult): string {
  const lat = r.samples.filter((s) => !s.tag.startsWith('adversarial')).map((s) => s.ms);
  const p99 = percentile(lat, 99);
  if (!base) return `${name}: ${Math.round(r.rps)} req/s, p99 ${p99.toFixed(1)} ms`;
  const bp99 = percentile(
    base.samples.map((s) => s.ms),
    99,
  );
  return (
    `${name}: ${Math.round(r.rps)} req/s (${((r.rps / base.rps) * 100).toFixed(0)}% of bare ALS), ` +
    `benign p99 ${p99.toFixed(1)} ms (${p99 - bp99 >= 0 ? '+' : ''}${(p99 - bp99).toFixed(1)} ms)`
  );
}

describe('load (LD-01..LD-03) as ratios against a bare-ALS baseline', () => {
  it('LD-01 LD-02 LD-03 mixed markers, 100 rules (10 RE2JS), reloads 1/s, 10% adversarial: 0 errors, 0 non-2xx, versions == reloads, benign answered correctly', async () => {
    // Bare-ALS baseline: als.run + 2 awaits, the bar's reference handler.
    const als = new AsyncLocalStorage<{ v: string }>();
    const bare = await listen(
      http.createServer((req, res) =>
        als.run({ v: String(req.headers['x-gray-id'] ?? 'stable') }, async () => {
          await null;
          await null;
          res.end(`${als.getStore()?.v} 1`);
        }),
      ),
    );
    const store = createConfigStore({ initial: rulesDoc('stable'), regex: nodeRegexEngine() });
    const gray = createGraylane({ config: store });
    const app = await listen(
      http.createServer((req, res) =>
        gray.handle(req, res, async () => {
          const snap = gray.store.get(); // same tick as the decision: the version at request start
          const decided = getGrayVersion();
          await null;
          await null;
          res.end(`${decided} ${snap.version} ${snap.config.default}`);
        }),
      ),
    );
    const run = (
      url: string,
      build: (i: number) => { headers: Record<string, string>; tag: string },
    ) => keepAliveLoad({ url, connections: CONNECTIONS, durationMs: PHASE_MS, build });

    const base1 = await run(bare.url, (i) => ({
      headers: { 'x-gray-id': i % 2 ? 'beta' : 'stable' },
      tag: 'base',
    }));
    const ld01 = await run(app.url, benign);

    // LD-02: one reload per second alternating two valid configs (+ one identical re-send).
    const v0 = store.get().version;
    let reloads = 0;
    const timer = setInterval(() => {
      reloads++;
      store.update(rulesDoc(reloads % 2 ? 'beta' : 'stable'), { source: 'ld02' });
      store.update(JSON.stringify(rulesDoc(reloads % 2 ? 'beta' : 'stable')), { source: 'ld02' }); // I6
    }, 1_000);
    let ld02: LoadResult;
    try {
      ld02 = await run(app.url, benign);
    } finally {
      clearInterval(timer);
    }
    const mix = (i: number) => (i % 10 === 9 ? adversarial(i) : benign(i));
    const ld03 = await run(app.url, mix);
    // The same adversarial mix against the bare server: the client's own cost of sending 12 KiB
    // headers on one shared machine is in both, so LD-03 is compared with this one.
    const baseMix = await run(bare.url, mix);
    const base2 = await run(bare.url, (i) => ({
      headers: { 'x-gray-id': i % 2 ? 'beta' : 'stable' },
      tag: 'base',
    }));
    const base = base1.rps >= base2.rps ? base1 : base2;

    for (const r of [base1, ld01, ld02, ld03, baseMix, base2]) {
      expect(r.errors).toBe(0);
      expect(r.samples.filter((s) => s.status !== 200)).toHaveLength(0);
      expect(r.samples.length).toBeGreaterThan(0);
    }
    // Every benign answer is right: a valid marker wins, an unknown one falls to rules/default
    // of the snapshot in force when the request started (LD-02 "current at request start").
    for (const r of [ld01, ld02, ld03]) {
      for (const s of r.samples) {
        const [decided, , def] = s.body.split(' ');
        if (s.tag === 'benign:beta') expect(decided).toBe('beta');
        else expect(['stable', 'beta']).toContain(decided);
        if (s.tag === 'adversarial') expect([def, 'beta']).toContain(decided);
      }
    }
    // LD-02 / I6: the store version moved exactly once per real reload, never for the re-sends.
    expect(store.get().version - v0).toBe(reloads);
    const seen = new Set(ld02.samples.map((s) => Number(s.body.split(' ')[1])));
    for (const v of seen) expect(v).toBeGreaterThanOrEqual(v0);
    for (const v of seen) expect(v).toBeLessThanOrEqual(v0 + reloads);
    // LD-03: benign requests were served in the adversarial mix (no head-of-line blocking to death).
    expect(ld03.samples.filter((s) => s.tag.startsWith('benign')).length).toBeGreaterThan(
      ld03.samples.length / 2,
    );

    console.log(
      [
        `LD baseline (bare ALS): ${summary('run 1', base1)}; ${summary('run 2', base2)}`,
        summary('LD-01', ld01, base),
        `${summary('LD-02', ld02, base)}, ${reloads} reloads, ${seen.size} versions seen`,
        summary('LD-03', ld03, baseMix) + ' (vs bare ALS with the same mix)',
      ].join('\n'),
    );
  }, 120_000);
});
