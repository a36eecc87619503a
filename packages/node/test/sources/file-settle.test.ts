import { execFileSync } from 'node:child_process';
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type SourceClock } from '@graylane/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createFileSource } from '../../src/sources/index.js';
import {
  paddedRules,
  quietLogger,
  recordingStore,
  sleep,
  tempDir,
  waitFor,
  weights,
} from './helpers.js';

// FLT-10 for writers a single read cannot catch: chunks with pauses, written in place over a
// file of the same size (no truncate), where a half-old/half-new mix is itself a valid document.

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

const mk = paddedRules;

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
// Writer pauses well inside the settle wait (40–80 ms against 300 ms). The verdict does not
// depend on the machine's load: the writer's next chunk is due before the settle wait ends, and
// Node fires timers in due order, so the re-read always sees it (or the writer is done).
const SETTLE_MS = 300;
const SHAPES = [
  { chunk: 4 * 1024, pauseMs: 40, pad: 6_000 },
  { chunk: 4 * 1024, pauseMs: 60, pad: 12_000 },
  { chunk: 16 * 1024, pauseMs: 80, pad: 40_000 },
  { chunk: 4 * 1024, pauseMs: 80, pad: 6_000 },
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
        const source = createFileSource({ path, settleMs: SETTLE_MS, logger: quietLogger() });
        await source.start(store);
        expect(weights(events[0]!)).toBe('a=10 b=10');
        events.length = 0;
        const next = mk(90, 90, shape.pad);
        expect(next.length).toBe(mk(10, 10, shape.pad).length);
        await writer(path, next, shape.chunk, shape.pauseMs);
        await waitFor(() => events.some((e) => weights(e) === 'a=90 b=90'), 8_000, 'final state');
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
    writeFileSync(`${path}.tmp`, mk(90, 90, 10));
    renameSync(`${path}.tmp`, path);
    // FLT-11's 2 s is the design budget (debounce + settle ≈ 0.25 s); no wall-time assertion
    // on a loaded CI machine.
    await waitFor(() => changes() === 2, 8_000, 'atomic save');
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
    // A stop() that did not cut the 60 s wait short would exceed the test's timeout.
    await source.stop();
    await starting;
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
      // One prefix per line (review 73 N5: `…last good config: [graylane] invalid config: …`).
      expect(logger.lines[0]?.startsWith('warn [graylane] config file')).toBe(true);
      expect(logger.lines[0]).toContain('keeping the last good config: invalid config: ');
      for (const t of [lastError, logger.lines[0] ?? ''])
        // eslint-disable-next-line no-control-regex
        expect(t).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      expect(logger.lines[0]!.length).toBeLessThanOrEqual(1_400);
      const problems = n * 2 + (forged ? 1 : 0);
      if (problems > 5) expect(lastError).toMatch(new RegExp(`and ${problems - 5} more$`));
    });
});

/**
 * The system clock, counting the settle waits it is asked for (timers of exactly `settleMs`; the
 * coalescer's are ≤ 100 ms, the poll's `pollMs`, the re-arm check's 60 s) and the polls, and
 * running `onSettle` (a writer's next chunk) when a settle wait begins.
 */
function countingClock(
  settleMs: number,
  pollMs: number,
): SourceClock & { settleWaits: number; polls: number; onSettle?: (n: number) => void } {
  const c: SourceClock & { settleWaits: number; polls: number; onSettle?: (n: number) => void } = {
    settleWaits: 0,
    polls: 0,
    now: () => systemClock.now(),
    wallNow: () => systemClock.wallNow(),
    setTimeout: (fn, ms) => {
      if (ms === settleMs) {
        c.settleWaits++;
        c.onSettle?.(c.settleWaits);
      }
      if (ms === pollMs) c.polls++;
      return systemClock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
  return c;
}

/** `Date.now` moved by `offsetMs` (a file server whose clock differs from this machine's). */
function skewDateNow(offsetMs: number): void {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() + offsetMs);
}

describe('the settle wait is decided by change, never by the file’s age', () => {
  afterEach(() => vi.restoreAllMocks());
  const POLL_MS = 250;
  const HOUR = 3_600_000;

  const atRest = async (): Promise<void> => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, mk(10, 10, 10));
    const clock = countingClock(SETTLE_MS, POLL_MS);
    const { store, changes } = recordingStore();
    const source = createFileSource({
      path,
      settleMs: SETTLE_MS,
      pollIntervalMs: POLL_MS,
      rearmMs: 60_000,
      clock,
      logger: quietLogger(),
    });
    await source.start(store);
    // Startup: the first read is a change (nothing was settled yet): one wait.
    expect(clock.settleWaits).toBe(1);
    expect(changes()).toBe(1);
    await waitFor(() => clock.polls >= 5, 8_000, 'five polls');
    await sleep(150); // the last poll's read
    await source.stop();
    // Every poll re-read the file; it matched what was settled: compared at once, no wait.
    expect(clock.settleWaits).toBe(1);
    expect(changes()).toBe(1);
    expect(source.status().lastError).toBeUndefined();
  };

  it('a file at rest is re-read with no wait (one wait at startup, none for five polls)', atRest);

  it('clock skew, ctime in the future (Date.now 1 h behind the file server): still no wait at rest', async () => {
    skewDateNow(-HOUR);
    await atRest();
  });

  it('ctime in the past (Date.now 1 h ahead of the file server): startup still waits once', async () => {
    skewDateNow(HOUR);
    await atRest();
  });

  // `fs.utimesSync` (touch -d) moves atime/mtime only; ctime becomes now. A file server whose
  // clock is behind is what makes a fresh ctime look old: modelled by moving Date.now ahead.
  for (const shape of SHAPES.slice(0, 3))
    it(`ctime in the past (Date.now 1 h ahead): an in-place writer, ${shape.pauseMs} ms pauses, is never applied torn`, async () => {
      skewDateNow(HOUR);
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const path = join(dir, 'rules.json');
      writeFileSync(path, mk(10, 10, shape.pad));
      const { store, events } = recordingStore();
      const source = createFileSource({ path, settleMs: SETTLE_MS, logger: quietLogger() });
      await source.start(store);
      events.length = 0;
      await inPlace(path, mk(90, 90, shape.pad), shape.chunk, shape.pauseMs);
      await waitFor(() => events.some((e) => weights(e) === 'a=90 b=90'), 8_000, 'final state');
      await sleep(100);
      await source.stop();
      expect(events.map(weights)).toEqual(['a=90 b=90']);
    });

  it('a write during each settle wait (same size, in place): only the final document applies', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    const before = mk(10, 10, 100);
    const after = mk(90, 90, 100);
    writeFileSync(path, before);
    const half = Math.floor(after.length / 2);
    const clock = countingClock(SETTLE_MS, -1);
    // Each wait begins right after a read: the writer's next chunk lands inside it. The first
    // chunk may land within the same mtime tick as the first write: the bytes still differ.
    clock.onSettle = (n) => {
      const fd = openSync(path, 'r+');
      if (n === 1) writeSync(fd, after.slice(0, half), 0);
      if (n === 2) writeSync(fd, after.slice(half), half);
      closeSync(fd);
    };
    const { store, events } = recordingStore();
    const source = createFileSource({
      path,
      settleMs: SETTLE_MS,
      rearmMs: 60_000,
      clock,
      logger: quietLogger(),
    });
    await source.start(store);
    await waitFor(() => events.length > 0, 8_000, 'an apply');
    await sleep(100);
    await source.stop();
    expect(events.map(weights)).toEqual(['a=90 b=90']);
    expect(clock.settleWaits).toBe(3);
  });

  it('settleMs: 0 never waits, not even at startup', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'rules.json');
    writeFileSync(path, mk(10, 10, 10));
    const clock = countingClock(0, POLL_MS);
    const { store, changes } = recordingStore();
    const source = createFileSource({
      path,
      settleMs: 0,
      pollIntervalMs: POLL_MS,
      rearmMs: 60_000,
      clock,
      logger: quietLogger(),
    });
    await source.start(store);
    expect(changes()).toBe(1);
    await waitFor(() => clock.polls >= 2, 8_000, 'two polls');
    await source.stop();
    expect(clock.settleWaits).toBe(0);
  });
});
