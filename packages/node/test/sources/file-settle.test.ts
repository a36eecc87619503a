import { execFileSync } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigEvent } from '@graylane/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileSource } from '../../src/sources/index.js';
import { quietLogger, recordingStore, sleep, tempDir, waitFor } from './helpers.js';

// FLT-10 for writers a single read cannot catch: chunks with pauses, written in place over a
// file of the same size (no truncate), where a half-old/half-new mix is itself a valid document.

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

/** Two weighted rules around a pad: every old/new mix of equal length is valid JSON. */
const mk = (w1: number, w2: number, pad: number): string =>
  JSON.stringify({
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      rule('a', w1),
      { id: 'pad', match: { header: { 'x-pad': { equals: 'p'.repeat(pad) } } }, version: 'stable' },
      rule('b', w2),
    ],
  });
const rule = (id: string, w: number) => ({
  id,
  match: { header: { [`x-${id}`]: { exists: true } } },
  split: [
    { version: 'beta', weight: w },
    { version: 'stable', weight: 100 - w },
  ],
  bucketBy: `header:x-${id}`,
});
const weights = (e: ConfigEvent): string =>
  e.type === 'change'
    ? (e.snapshot.config.document.rules ?? [])
        .flatMap((r) => ('split' in r && r.split ? [`${r.id}=${r.split[0]?.weight}`] : []))
        .join(' ')
    : e.type;

type Writer = (path: string, text: string, chunk: number, pauseMs: number) => Promise<void>;
const inPlace: Writer = async (path, text, chunk, pauseMs) => {
  const fd = openSync(path, 'r+'); // no O_TRUNC: same size, overwritten front to back
  for (let at = 0; at < text.length; at += chunk) {
    writeSync(fd, text.slice(at, at + chunk), at);
    await sleep(pauseMs);
  }
  closeSync(fd);
};
const inPlaceBackwards: Writer = async (path, text, chunk, pauseMs) => {
  const fd = openSync(path, 'r+');
  const starts = [];
  for (let at = 0; at < text.length; at += chunk) starts.push(at);
  for (const at of starts.reverse()) {
    writeSync(fd, text.slice(at, at + chunk), at);
    await sleep(pauseMs);
  }
  closeSync(fd);
};
const truncating: Writer = async (path, text, chunk, pauseMs) => {
  const fd = openSync(path, 'w');
  for (let at = 0; at < text.length; at += chunk) {
    writeSync(fd, text.slice(at, at + chunk));
    await sleep(pauseMs);
  }
  closeSync(fd);
};

const WRITERS = {
  'in place, same size': inPlace,
  'in place, last chunk first': inPlaceBackwards,
  'truncate, then chunks': truncating,
};
const SHAPES = [
  { chunk: 4 * 1024, pauseMs: 50, pad: 6_000 },
  { chunk: 4 * 1024, pauseMs: 20, pad: 12_000 },
  { chunk: 16 * 1024, pauseMs: 50, pad: 40_000 },
  { chunk: 4 * 1024, pauseMs: 120, pad: 6_000 },
];

describe('FLT-10 a file written in chunks with pauses is never applied half-written', () => {
  for (const [label, writer] of Object.entries(WRITERS))
    for (const shape of SHAPES)
      it(`${label}: ${shape.chunk / 1024} KiB chunks, ${shape.pauseMs} ms apart`, async () => {
        const { dir, cleanup } = tempDir();
        cleanups.push(cleanup);
        const path = join(dir, 'rules.json');
        writeFileSync(path, mk(10, 10, shape.pad));
        const { store, events } = recordingStore();
        const source = createFileSource({ path, logger: quietLogger() });
        await source.start(store);
        expect(weights(events[0]!)).toBe('a=10 b=10');
        events.length = 0;
        const next = mk(90, 90, shape.pad);
        expect(next.length).toBe(mk(10, 10, shape.pad).length);
        await writer(path, next, shape.chunk, shape.pauseMs);
        await waitFor(() => events.some((e) => weights(e) === 'a=90 b=90'), 3_000, 'final state');
        await sleep(100);
        await source.stop();
        // Neither a torn mix (a=90 b=10) nor a partial document was ever parsed.
        expect(events.map(weights)).toEqual(['a=90 b=90']);
      });
});

describe('the settle wait: bounded, optional, validated', () => {
  it('an atomic save still applies well within FLT-11 (2 s), exactly once', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, mk(10, 10, 10));
    const { store, changes } = recordingStore();
    const source = createFileSource({ path, logger: quietLogger() });
    await source.start(store);
    const t0 = performance.now();
    writeFileSync(`${path}.tmp`, mk(90, 90, 10));
    renameSync(`${path}.tmp`, path);
    await waitFor(() => changes() === 2, 2_000, 'atomic save');
    expect(performance.now() - t0).toBeLessThan(2_000);
    await sleep(300);
    expect(changes()).toBe(2);
    await source.stop();
  });

  it('stop() during the wait returns at once and applies nothing', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, mk(10, 10, 10));
    const { store, changes } = recordingStore();
    const source = createFileSource({ path, settleMs: 60_000, logger: quietLogger() });
    const starting = source.start(store);
    await sleep(50);
    const t0 = performance.now();
    await source.stop();
    await starting;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(changes()).toBe(0);
  });

  it('start() on a just-written file completes in a process with nothing else alive (built package)', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    const script = `
      const { createRequire } = require('node:module');
      const r = createRequire(${JSON.stringify(join(process.cwd(), 'packages/node/package.json'))});
      const { createConfigStore } = r('@graylane/core');
      const { createFileSource } = r('@graylane/node/sources');
      require('node:fs').writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(mk(90, 90, 10))});
      const store = createConfigStore({ initial: { versions: ['stable', 'beta'], default: 'stable' } });
      const s = createFileSource({ path: ${JSON.stringify(path)}, logger: { warn() {}, error() {} } });
      s.start(store).then(() => { console.log('started', store.get().version); return s.stop(); });
    `;
    const out = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(out.trim()).toBe('started 2');
  });

  for (const settleMs of [-1, Number.NaN, Infinity, '200', 2 ** 31])
    it(`settleMs = ${String(settleMs)} is refused (INVALID_OPTIONS)`, () => {
      expect(() =>
        createFileSource({ path: '/nonexistent/x.json', settleMs: settleMs as number }),
      ).toThrow(/settleMs/);
    });
});

describe('I1/I4 a rejected file is reported bounded and escaped', () => {
  const FORGED = '\n[graylane] config file /etc/graylane/rules.json applied OK (version 7)\n';
  for (const [name, n, forged] of [
    ['1,000 bad rules with 700-char keys and a forging key', 1_000, true],
    ['300 bad rules', 300, false],
    ['a forging key only', 0, true],
  ] as const)
    it(name, async () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const path = join(dir, 'rules.json');
      const rules = Array.from({ length: n }, (_, i) => ({
        id: `r${i}`,
        version: 'nope',
        [`${'k'.repeat(700)}\r${i}`]: 1,
      }));
      writeFileSync(
        path,
        JSON.stringify({
          versions: ['stable'],
          default: 'stable',
          rules,
          ...(forged ? { [FORGED]: 1 } : {}),
        }),
      );
      const logger = quietLogger();
      const { store } = recordingStore();
      const source = createFileSource({ path, settleMs: 0, logger });
      await source.start(store);
      await source.stop();
      const lastError = source.status().lastError ?? '';
      expect(lastError).toMatch(/^\[graylane\] invalid config: /);
      expect(lastError.length).toBeLessThanOrEqual(1_000);
      expect(logger.lines).toHaveLength(1);
      for (const t of [lastError, logger.lines[0] ?? ''])
        // eslint-disable-next-line no-control-regex
        expect(t).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(logger.lines[0]!.length).toBeLessThanOrEqual(1_400);
      const problems = n * 2 + (forged ? 1 : 0);
      if (problems > 5) expect(lastError).toMatch(new RegExp(`and ${problems - 5} more$`));
    });
});
