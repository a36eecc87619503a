import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorker } from './support/bundle.js';
import { listenLoopback } from './support/listen.js';
import type { Served } from './support/process.js';
import { startWorkerd } from './support/workerd.js';

/*
 * SRC-06 in workerd: a request that decides without `waitUntil` returns while its rules read is
 * under way, and workerd cancels that request's I/O: the read's fetch and its timeout timer never
 * fire and its promise never settles. The old refresher kept that promise as "the read under
 * way" for the life of the isolate: every later due refresh returned early, `sourceStatus()`
 * stayed `starting` and `gray.refresh()` rejected ("a request that has since ended"). Each row
 * is one order of requests on an engine of its own (its own rules URL); one workerd process.
 */

const FIXTURE = fileURLToPath(new URL('fixtures/request-owned-refresh-worker.ts', import.meta.url));
/** The read timeout the rows' sources use; every rules answer takes DELAY_MS. */
const TIMEOUT_MS = 400;
const DELAY_MS = 150;

let dir: string;
let workerd: Served;
let rules: { origin: string; close(): Promise<void> };
/** Reads each row's rules URL got. */
const reads = new Map<string, number>();
let seq = 0;

beforeAll(async () => {
  rules = await listenLoopback(
    createServer((req, res) => {
      const id = req.url ?? '';
      reads.set(id, (reads.get(id) ?? 0) + 1);
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ versions: ['stable', 'beta'], default: 'beta' }));
      }, DELAY_MS);
    }),
  );
  dir = mkdtempSync(join(tmpdir(), 'graylane-web-src06-'));
  writeFileSync(join(dir, 'worker.mjs'), await bundleWorker({ entry: FIXTURE }, 'esm', 'W'));
  workerd = await startWorkerd(dir);
}, 60_000);
afterAll(async () => {
  await workerd?.stop();
  await rules?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  version?: string;
  state?: string;
  error?: string;
}
type Call = (path: 'decide' | 'refresh', waitUntil: boolean) => Promise<Answer>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Decides with `waitUntil` until the rules are in force: at most 40 tries, 100 ms apart. */
async function settled(call: Call): Promise<Answer> {
  let last: Answer = {};
  for (let i = 0; i < 40; i++) {
    last = await call('decide', true);
    if (last.state === 'ready') return last;
    await pause(100);
  }
  return last;
}

const READY = { version: 'beta', state: 'ready' };

interface Row {
  readonly order: string;
  readonly control?: true;
  run(call: Call): Promise<void>;
}

const ROWS: Row[] = [
  {
    order: 'decide without waitUntil, then decides with it',
    async run(call) {
      expect(await call('decide', false)).toEqual({ version: 'stable', state: 'starting' });
      expect(await settled(call)).toEqual(READY);
    },
  },
  {
    order: 'decide without waitUntil, then refresh()',
    async run(call) {
      await call('decide', false);
      expect(await call('refresh', false)).toEqual(READY);
    },
  },
  {
    order: 'three concurrent decides without waitUntil, then decides with it',
    async run(call) {
      await Promise.all([call('decide', false), call('decide', false), call('decide', false)]);
      expect(await settled(call)).toEqual(READY);
    },
  },
  {
    order: 'decide without waitUntil, then three concurrent refresh()',
    async run(call) {
      await call('decide', false);
      const answers = await Promise.all([1, 2, 3].map(() => call('refresh', false)));
      expect(answers).toEqual([READY, READY, READY]);
    },
  },
  {
    order: 'decide without waitUntil, refresh() at once with it and decides with it after',
    async run(call) {
      const [, refreshed] = await Promise.all([call('decide', false), call('refresh', true)]);
      expect(refreshed).toEqual(READY);
      expect(await settled(call)).toEqual(READY);
    },
  },
  {
    order: 'refresh() first, then decide without waitUntil, then refresh()',
    async run(call) {
      expect(await call('refresh', false)).toEqual(READY);
      await call('decide', false);
      expect(await call('refresh', false)).toEqual(READY);
    },
  },
  {
    order: 'decides with waitUntil only',
    control: true,
    async run(call) {
      expect(await settled(call)).toEqual(READY);
    },
  },
  {
    order: 'refresh() only',
    control: true,
    async run(call) {
      expect(await call('refresh', false)).toEqual(READY);
    },
  },
];

describe('SRC-06 workerd: a rules read owned by a request that ended never stops the source', () => {
  it.each(
    ROWS.map((row) => ({ ...row, label: row.control ? `${row.order} (control)` : row.order })),
  )(
    'SRC-06 workerd: $label',
    async ({ run }) => {
      const id = `/rules/r${++seq}`;
      const query = new URLSearchParams({
        rules: `${rules.origin}${id}`,
        timeout: `${TIMEOUT_MS}`,
      });
      const call: Call = async (path, waitUntil) => {
        const res = await fetch(`${workerd.origin}/${path}?${query}${waitUntil ? '&wu' : ''}`, {
          signal: AbortSignal.timeout(15_000),
        });
        return (await res.json()) as Answer;
      };
      await run(call);
      expect(reads.get(id)).toBeGreaterThan(0);
    },
    20_000,
  );
});
