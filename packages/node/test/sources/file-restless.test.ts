import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { doc, sleep, startedFile, tempRules, waitFor, type Cleanups } from './helpers.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A writer that rewrites `path` in place every `everyMs` with a different valid document until
 * stopped, so no read ever finds it quiet for `settleMs`.
 */
function restless(path: string, everyMs: number): () => void {
  let n = 0;
  const timer = setInterval(() => {
    n++;
    writeFileSync(path, doc(n % 2 ? 'beta' : 'stable') + ' '.repeat(n % 64));
  }, everyMs);
  return () => clearInterval(timer);
}

// FLT-10 says a file still being written is never parsed. A file that never stops changing (a
// writer in a loop, or a /proc or sysfs file whose size the filesystem reports as 0) then kept
// the source "starting" or "ready" on old rules with no reason and no log, retrying forever.
describe('FLT-10 a file that keeps changing under every read is said, once, and read when it is quiet', () => {
  const settleMs = 50;
  const rows = [
    { what: 'rewritten in place every 10 ms', after: 'ready' as const },
    { what: 'rewritten in place every 10 ms from the start', after: 'start' as const },
    { what: '/proc/self/status (size 0, content changing)', after: 'proc' as const },
  ];
  it.each(rows)(
    '$what',
    async ({ after }) => {
      const path = after === 'proc' ? '/proc/self/status' : tempRules(cleanups, doc('beta'));
      let stop = after === 'start' ? restless(path, 10) : () => undefined;
      cleanups.push(() => stop());
      const opts = { settleMs, pollIntervalMs: 100 };
      const { source, logger, store, started } = await startedFile(cleanups, path, opts, false);
      if (after === 'ready') {
        await started;
        expect(source.status().state).toBe('ready');
        stop = restless(path, 10);
      }
      const said = () => logger.lines.filter((l) => l.includes('keeps changing'));
      await waitFor(() => said().length > 0, 8_000, 'the source saying so');
      expect(source.status().state).not.toBe('ready');
      expect(source.status().lastError).toMatch(/keeps changing while it is read/);
      await sleep(500); // many more unsettled reads meanwhile: said once
      expect(said()).toHaveLength(1);
      if (after === 'ready') expect(store.get().config.default).toBe('beta'); // the last good rules
      if (after === 'proc') return;
      stop();
      writeFileSync(path, doc('stable'));
      await waitFor(() => source.status().state === 'ready', 5_000, 'ready once quiet');
      expect(store.get().config.default).toBe('stable');
      expect(source.status().lastError).toBeUndefined();
    },
    20_000,
  );

  it('control: a writer that stops within the report time is not reported', async () => {
    const path = tempRules(cleanups);
    const { source, logger, store } = await startedFile(cleanups, path, { settleMs });
    const stop = restless(path, 10);
    await sleep(600);
    stop();
    writeFileSync(path, doc('beta'));
    await waitFor(() => store.get().config.default === 'beta', 5_000, 'the last write');
    expect(logger.lines).toEqual([]);
    expect(source.status().state).toBe('ready');
  });
});
