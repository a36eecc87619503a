import http from 'node:http';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfigStore, createRe2Engine, type ConfigEvent } from '@graylane/core';
import { createGraylane, getGrayVersion, type Graylane } from '@graylane/node';
import { createFileSource, startSources, type SourcesHandle } from '@graylane/node/sources';
import { closeAll, keepAliveLoad, listen, sleep, waitFor } from './helpers.js';

/**
 * RELIABILITY §5 faults, driven through a running HTTP server with the middleware, not only the
 * source: the question is always "did any request fail, and did the last-known-good serve?".
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeAll();
});

const quiet = { warn: () => undefined, error: () => undefined };

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-rel-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function doc(def: 'stable' | 'beta', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ versions: ['stable', 'beta'], default: def, ...extra });
}

/** A server whose body is `<version> <store version> <rule id of the first rule>`. */
async function grayServer(gray: Graylane): Promise<string> {
  const { url } = await listen(
    http.createServer((req, res) =>
      gray.handle(req, res, () => {
        const snap = gray.store.get();
        res.end(`${getGrayVersion()} ${snap.version} ${snap.config.rules[0]?.id ?? '-'}`);
      }),
    ),
  );
  return url;
}

function track(sources: SourcesHandle): void {
  cleanups.push(() => sources.stop());
}

describe('faults through the running middleware (RELIABILITY §5)', () => {
  it('FLT-15 reload storm (1,000 writes, a third of them invalid) under load: 0 failed requests, LKG always serving, debounced, last write wins', async () => {
    const dir = tempDir();
    const path = join(dir, 'rules.json');
    writeFileSync(path, doc('stable'));
    const store = createConfigStore({ initial: doc('stable') });
    let changes = 0;
    let rejected = 0;
    store.subscribe((e: ConfigEvent) => (e.type === 'change' ? changes++ : rejected++));
    const gray = createGraylane({ config: store });
    const sources = startSources(store, [createFileSource({ path, logger: quiet })], {
      meter: false,
      logger: quiet,
    });
    track(sources);
    await sources.ready;
    const url = await grayServer(gray);

    let storming = true;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const storm = (async () => {
      for (let i = 0; i < 1_000; i++) {
        const text =
          i % 3 === 1
            ? doc('beta', { rules: [{ id: `r${i}`, version: 'beta' }] }).slice(0, 30) // truncated
            : doc(i % 2 ? 'beta' : 'stable', { rules: [{ id: `r${i}`, version: 'beta' }] });
        // Editor-style atomic save half the time, in-place writes the other half.
        if (i % 2) {
          writeFileSync(`${path}.tmp`, text);
          renameSync(`${path}.tmp`, path);
        } else writeFileSync(path, text);
        if (i % 10 === 0) await sleep(30); // ~1,000 writes over ≥ 3 s
      }
      storming = false;
    })();
    let bad = 0;
    let wrongMarker = 0;
    const load = await keepAliveLoad({
      url,
      connections: 16,
      durationMs: 60_000,
      keepBodies: false,
      until: () => !storming,
      build: (i) => ({ headers: i % 2 ? { 'x-gray-id': 'beta' } : {}, tag: i % 2 ? 'beta' : '' }),
      onSample: (s) => {
        const [version] = s.body.split(' ');
        if (s.status !== 200 || (version !== 'stable' && version !== 'beta')) bad++;
        if (s.tag === 'beta' && version !== 'beta') wrongMarker++;
      },
    });
    await storm;
    const stormMs = performance.now() - t0;

    await waitFor(() => store.get().config.rules[0]?.id === 'r999', 10_000, 'last write applied');
    // Every response is 200 and carries a configured version; marker requests get their marker.
    expect(load.errors).toBe(0);
    expect(bad).toBe(0);
    expect(wrongMarker).toBe(0);
    // Debounced: ≤ 1 apply per 100 ms of storm (+2 for the edges).
    expect(changes).toBeGreaterThan(0);
    // (Whether a coalesced read lands on an invalid write is timing: rejections are counted, not asserted.)
    expect(changes).toBeLessThanOrEqual(Math.ceil(stormMs / 100) + 2);
    // A bad write after the storm leaves the LKG serving.
    writeFileSync(path, '{"versions": [');
    await waitFor(() => sources.status().state === 'degraded', 10_000, 'stale after bad write');
    const after = await keepAliveLoad({
      url,
      connections: 4,
      total: 200,
      build: () => ({ headers: {}, tag: '' }),
    });
    expect(after.errors).toBe(0);
    expect(after.samples.every((s) => s.status === 200 && s.body.endsWith(' r999'))).toBe(true);
    global.gc?.();
    const heapDelta = process.memoryUsage().heapUsed - heapBefore;
    console.log(
      `FLT-15: ${Math.round((load.rps * load.elapsedMs) / 1000)} requests during a ${Math.round(stormMs)} ms storm at ${Math.round(load.rps)} req/s, ` +
        `${changes} applies, ${rejected} rejections, heap Δ ${(heapDelta / 1048576).toFixed(1)} MiB`,
    );
  }, 120_000);

  it('FLT-16 injected validation bug (a regex engine that throws TypeError) and throwing hooks: caught, LKG kept, 0 failed requests', async () => {
    const dir = tempDir();
    const path = join(dir, 'rules.json');
    const re2 = createRe2Engine(RE2JS);
    const buggy = {
      name: 'buggy',
      compile(pattern: string) {
        if (pattern.includes('BUG')) throw new TypeError('injected validator bug');
        return re2.compile(pattern);
      },
    };
    const good = doc('beta', {
      rules: [{ id: 'good', match: { path: { regex: '^/x' } }, version: 'stable' }],
    });
    writeFileSync(path, good);
    const store = createConfigStore({ initial: doc('stable'), regex: buggy });
    store.subscribe(() => {
      throw new Error('injected listener bug');
    });
    const gray = createGraylane({
      config: store,
      onDecision: () => {
        throw new Error('injected onDecision bug');
      },
      attributes: () => {
        throw new Error('injected attributes bug');
      },
    });
    const sources = startSources(store, [createFileSource({ path, logger: quiet })], {
      meter: false,
      logger: quiet,
    });
    track(sources);
    await sources.ready;
    await waitFor(() => store.get().config.default === 'beta', 10_000, 'good config');
    const url = await grayServer(gray);
    const lkgVersion = store.get().version;

    const loading = keepAliveLoad({
      url,
      connections: 8,
      total: 3_000,
      build: () => ({ headers: {}, tag: '' }),
    });
    for (let i = 0; i < 5; i++) {
      writeFileSync(
        path,
        doc('stable', {
          rules: [{ id: `bug${i}`, match: { path: { regex: `BUG${i}` } }, version: 'beta' }],
        }),
      );
      await waitFor(() => sources.status().state === 'degraded', 10_000, 'rejection noticed');
      expect(store.get().version).toBe(lkgVersion);
      // Reported, not swallowed: the source status carries the injected error.
      expect(sources.status().sources[0]?.status.lastError).toMatch(/injected validator bug/);
      writeFileSync(path, good);
      await waitFor(() => sources.status().state === 'ready', 10_000, 'recovered');
    }
    const load = await loading;
    expect(load.errors).toBe(0);
    expect(load.samples.every((s) => s.status === 200 && s.body.startsWith('beta '))).toBe(true);
    expect(store.get().version).toBe(lkgVersion); // the bug never replaced the good config
    // The setup guard asserts 0 unhandled rejections / uncaught exceptions for this file.
  }, 120_000);

  it('FLT-17 WT-09 server clock jumps (back 1 h, forward 1 day, NaN, throwing) through the middleware: windows follow the clock, no failed request', async () => {
    const from = Date.parse('2026-03-29T00:00:00Z');
    const until = Date.parse('2026-03-30T00:00:00Z');
    let clock: () => number = () => from + 3_600_000;
    const gray = createGraylane({
      config: {
        versions: ['stable', 'beta'],
        default: 'stable',
        rules: [
          {
            id: 'launch',
            window: { from: '2026-03-29T00:00:00Z', until: '2026-03-30T00:00:00Z' },
            version: 'beta',
          },
        ],
      },
      now: () => clock(),
    });
    const url = await grayServer(gray);
    const get = async (headers: Record<string, string> = {}): Promise<string> => {
      const r = await keepAliveLoad({
        url,
        connections: 1,
        total: 1,
        build: () => ({ headers, tag: '' }),
      });
      expect(r.errors).toBe(0);
      expect(r.samples[0]?.status).toBe(200);
      return (r.samples[0]?.body ?? '').split(' ')[0] as string;
    };
    const cases: [string, () => number, string][] = [
      ['inside the window', () => from + 3_600_000, 'beta'],
      ['jump back 1 h before the start', () => from - 3_600_000 + 1, 'stable'],
      ['jump forward 1 day past the end', () => until + 86_400_000, 'stable'],
      ['back inside (end − 1 ms)', () => until - 1, 'beta'],
      ['exactly at the end (half-open)', () => until, 'stable'],
    ];
    for (const [what, next, expected] of cases) {
      clock = next;
      expect(await get(), what).toBe(expected);
    }
    // A broken clock never fails a request and never yields an unconfigured version.
    for (const broken of [
      () => Number.NaN,
      () => -Infinity,
      () => {
        throw new Error('clock bug');
      },
    ]) {
      clock = broken;
      expect(['stable', 'beta']).toContain(await get());
      expect(['stable', 'beta']).toContain(await get({ 'x-gray-id': 'beta' }));
    }
    // WT-08: a client-supplied time is ignored, only the injected clock counts.
    clock = () => from - 1;
    expect(await get({ 'x-gray-now': String(from + 1), baggage: `now=${from + 1}` })).toBe(
      'stable',
    );
  }, 60_000);
});
