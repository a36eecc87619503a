import { createServer, type RequestListener } from 'node:http';
import { getGrayVersion, signMarker, withGray } from '@graylane/node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { MessageLanes } from '../dist/index.js';
import type { BullLanes, BullLanesOptions } from '../dist/bullmq.js';

/** The versions every queue test uses. */
export const CONFIG = { versions: ['stable', 'beta'], default: 'stable' } as const;
export const KEY = 'graylane-queue-test-key-0123456789';
export const KID = 'q1';

/** A loopback HTTP server that records the `x-gray-id` and `baggage` of every request. */
export async function startEcho(): Promise<{
  url: string;
  seen: { marker: string | undefined; path: string }[];
  close(): Promise<void>;
}> {
  const seen: { marker: string | undefined; path: string }[] = [];
  const server = await listenLoopback((req, res) => {
    const marker = req.headers['x-gray-id'];
    seen.push({ marker: typeof marker === 'string' ? marker : undefined, path: req.url ?? '' });
    res.end('ok');
  });
  return { ...server, seen };
}

/** An HTTP server on a free 127.0.0.1 port. */
export async function listenLoopback(
  handler: RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** What a consumer saw for one message. */
export interface Seen {
  readonly id: string;
  readonly consumer: string;
  readonly version: string;
}

/** A handler body shared by the broker suites: record, then call the echo server in the lane. */
export function recorder(
  consumer: string,
  seen: Seen[],
  echo?: { url: string },
): (id: string) => Promise<void> {
  const grayFetch = withGray(undefined, { allowHosts: ['127.0.0.1'] });
  return async (id) => {
    const version = getGrayVersion();
    if (echo) await (await grayFetch(`${echo.url}/${id}`)).text();
    seen.push({ id, consumer, version });
  };
}

/** Polls `check` until it returns true, bounded. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A signed token for `version` (expired when `ttlSeconds` is negative via the clock). */
export function token(version: string, nowMs = Date.now(), key = KEY, kid = KID): string {
  return signMarker(version, { key, kid, ttlSeconds: 60, now: () => nowMs });
}

/** Random lanes for the 10,000-message runs. */
export function randomLanes(n: number): ('stable' | 'beta')[] {
  return Array.from({ length: n }, () => (Math.random() < 0.5 ? 'stable' : 'beta'));
}

let counter = 0;
/** A name no other test of this process uses (queues, streams, subjects). */
export function fresh(prefix: string): string {
  return `${prefix}${process.pid}x${++counter}`.toUpperCase();
}

/** A redis-server of one test file's own, there once the file's `beforeAll` has run. */
export interface BullBroker {
  /** An ioredis client on it. */
  readonly redis: Redis;
  /** BullMQ's connection options for it. */
  readonly connection: { host: string; port: number };
  /** A lane router of the logical queue `name` on it: its client is the liveness client. */
  router(name: string, options?: Partial<Omit<BullLanesOptions, 'lanes' | 'name'>>): BullLanes;
}

/**
 * Starts a redis-server on 127.0.0.1 before the calling file's tests and stops it, client first,
 * after them; routers work `lanes`. ioredis and BullMQ load here, not in every suite of this module.
 */
export function useBullBroker(lanes: MessageLanes): BullBroker {
  let started:
    | (Omit<BullBroker, 'router'> & {
        create: (options: BullLanesOptions) => BullLanes;
        stop(): Promise<void>;
      })
    | undefined;
  const get = () => {
    if (!started) throw new Error('the redis-server starts in beforeAll');
    return started;
  };
  beforeAll(async () => {
    const [{ Redis }, { startRedis }, { createBullLanes }] = await Promise.all([
      import('ioredis'),
      import('./brokers/redis.js'),
      import('../dist/bullmq.js'),
    ]);
    const server = await startRedis();
    const redis = new Redis(server.port, '127.0.0.1');
    started = {
      redis,
      connection: { host: '127.0.0.1', port: server.port },
      create: createBullLanes,
      async stop() {
        await redis.quit();
        await server.stop();
      },
    };
  }, 30_000);
  afterAll(async () => {
    await started?.stop();
  }, 30_000);
  return {
    get redis() {
      return get().redis;
    },
    get connection() {
      return get().connection;
    },
    router: (name, options) => {
      const { create, connection, redis } = get();
      return create({ lanes, name, connection, redis, ...options });
    },
  };
}
