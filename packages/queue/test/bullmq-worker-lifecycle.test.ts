// MQ-18 (review 54 D4): what graylane starts for a BullMQ worker — the default lane's drain
// workers, a lane's heartbeat — follows that worker, whichever BullMQ API ends it: `close()`,
// `close(true)`, the router's `close()`, `disconnect()`, or its connection dropped and not retried.
// The app's process then exits by itself, and no job is lost or run twice. Real redis-server.
import { fork } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWithGray } from '@graylane/node';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { CONFIG, fresh, until, useBullBroker } from './helpers.js';

const broker = useBullBroker(createMessageLanes({ config: CONFIG }));
const SCRIPT = fileURLToPath(new URL('./fixtures/bull-worker-lifecycle.mjs', import.meta.url));
/** A process whose resources are all released exits at once; this bound is generous. */
const EXIT_BOUND_MS = 5_000;

type Api = 'worker.close()' | 'worker.close(true)' | 'worker.disconnect()' | 'connection dropped';
// The router's own `close()` closed the drain workers before (the fixture keeps it as a control).
const CLOSES: readonly Api[] = ['worker.close()', 'worker.close(true)'];
const ENDS: readonly Api[] = ['worker.disconnect()', 'connection dropped'];

interface Report {
  total: number;
  closeMs: number;
  runningAtClose: number;
  /** Connection rows: ms until the drain worker's connections were gone (-1: not in 5 s). */
  drainClosedMs: number;
  /** Connection rows: handlers started once the drain worker closed (new jobs added then). */
  startedAfterEnd: number;
}

/** Runs the fixture; its outcome, what its handlers ran, and its report. */
async function runApp(
  name: string,
  api: Api,
  phase: string,
  autorun: boolean,
): Promise<{ outcome: 'exited' | 'alive'; code: number | null; log: string[]; report?: Report }> {
  const log = join(tmpdir(), `${name}.log`);
  const args = [String(broker.connection.port), name, api, phase, String(autorun), log];
  const child = fork(SCRIPT, args, { stdio: 'inherit' });
  let code: number | null = null;
  const exited = new Promise<'exited'>((r) =>
    child.once('exit', (c) => {
      code = c;
      r('exited');
    }),
  );
  const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []);
  const reported = (async () => {
    while (!lines().some((l) => l.startsWith('report '))) await sleep(25);
  })();
  // The app reports once it closed everything it owns; from then on it must exit by itself.
  await Promise.race([reported, exited, sleep(30_000)]);
  const outcome = await Promise.race([exited, sleep(EXIT_BOUND_MS).then(() => 'alive' as const)]);
  if (outcome === 'alive') {
    child.kill('SIGKILL');
    await exited;
  }
  await sleep(100); // a handler a forced close left running may still log as the process ends
  const all = lines();
  rmSync(log, { force: true });
  const line = all.find((l) => l.startsWith('report '));
  return {
    outcome,
    code,
    log: all,
    ...(line ? { report: JSON.parse(line.slice('report '.length)) as Report } : {}),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const count = (log: string[], what: string, id: string) =>
  log.filter((l) => l === `${what} ${id}`).length;

describe('MQ-18 BullMQ: the default worker ended by any API takes its drain workers with it', () => {
  const rows = [...CLOSES, ...ENDS].flatMap((api) =>
    (['idle', 'mid-batch'] as const).flatMap((phase) =>
      [true, false].map((autorun) => ({ api, phase, autorun })),
    ),
  );
  it.concurrent.each(rows)(
    'MQ-18 $api · drain $phase · autorun $autorun: the process exits, no job lost or run twice',
    async ({ api, phase, autorun }) => {
      const name = fresh('wl');
      const app = await runApp(name, api, phase, autorun);
      const report = app.report as Report;
      expect(report).toBeDefined();
      const forced = api === 'worker.close(true)';
      if (ENDS.includes(api)) {
        // The worker can take no job once its connection ended: the drain took none either, and
        // its connections were closed before the app closed the worker.
        expect({ started: report.startedAfterEnd, closed: report.drainClosedMs >= 0 }).toEqual({
          started: 0,
          closed: true,
        });
      }
      // The app closed what it owns (the worker through BullMQ's own API): nothing of graylane's
      // keeps the process alive.
      expect({ outcome: app.outcome, code: app.code }).toEqual({ outcome: 'exited', code: 0 });
      // A non-forced close resolves (`worker.closing` too) after the drain's handlers finished.
      if (!forced) expect(report.runningAtClose).toBe(0);
      const ids = [
        ...Array.from({ length: report.total }, (_, i) => `j${i}`),
        ...(ENDS.includes(api) ? ['late0', 'late1', 'late2'] : []),
      ];
      const laneQueue = new Queue(`${name}.lane.beta`, { connection: broker.connection });
      const wrong: string[] = [];
      try {
        for (const id of ids) {
          const job = await laneQueue.getJob(id);
          const state = job ? await job.getState() : 'lost';
          const starts = count(app.log, 'start', id);
          const ends = count(app.log, 'end', id);
          const ok =
            starts <= 1 &&
            // done in its lane's queue, run once
            ((state === 'completed' && starts === 1 && ends === 1) ||
              // only a forced close leaves a job active (running, or fetched and not started):
              // its lock expires and BullMQ's stalled check puts it back; never completed
              (state === 'active' && forced) ||
              // where it was, never run
              ((state === 'waiting' || state === 'delayed') && starts === 0));
          if (!ok) wrong.push(`${id}: ${state}, started ${starts}, ended ${ends}`);
        }
      } finally {
        await laneQueue.close();
      }
      expect(wrong).toEqual([]);
    },
    60_000,
  );
});

describe('MQ-18 BullMQ: a lane worker whose connection ended stops keeping its lane alive', () => {
  const TUNING = {
    heartbeatTtlMs: 300,
    liveness: { intervalMs: 50, graceMs: 0 },
    drainIntervalMs: 50,
  } as const;
  const rows = ENDS.flatMap((api) => [true, false].map((autorun) => ({ api, autorun })));
  it.concurrent.each(rows)(
    'MQ-18 lane worker · $api · autorun $autorun: the lane is dead within the TTL, its jobs go to the base queue',
    async ({ api, autorun }) => {
      const name = fresh('wh');
      const connection = {
        ...broker.connection,
        ...(api === 'connection dropped' ? { retryStrategy: () => null } : {}),
      };
      const router = broker.router(name, { connection, ...TUNING });
      const beta = router.worker('beta', async () => undefined, { autorun });
      try {
        if (!autorun) void beta.worker.run().catch(() => undefined);
        await until(() => router.liveness.refresh('beta'), 5_000);
        if (api === 'worker.disconnect()') await beta.worker.disconnect();
        else {
          // The worker's own connection (an ioredis client behind BullMQ's interface).
          const client = (await beta.worker.getBackend().client) as unknown as Redis;
          await broker.redis.client('KILL', 'ID', String(await client.client('ID')));
        }
        // TTL 300 ms: a heartbeat that stopped leaves the key for at most that long.
        await until(async () => !(await router.liveness.refresh('beta')), 2_000);
        const job = await runWithGray('beta', () => router.add('m', { id: 'after' }));
        expect(job.queueName).toBe(name);
      } finally {
        await beta.close();
        await router.close();
      }
    },
    30_000,
  );
});
