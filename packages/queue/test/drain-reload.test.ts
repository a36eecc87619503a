// MQ-19 (review 54 D3): a fallback consumer remembers every version the config has listed while
// it ran — from the moment its drain loop is built, and whenever the config store swaps a config
// in, not only at its ticks. A lane removed before the loop's first tick, removed and re-added
// and removed again between two ticks, or added and removed between two ticks still drains into
// the default lane. The same rows on RabbitMQ, NATS JetStream and BullMQ, on loopback brokers.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { createConfigStore } from '@graylane/core';
import { getGrayVersion } from '@graylane/node';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, type MessageLanes } from '../dist/index.js';
import { createAmqpLanes } from '../dist/amqp.js';
import { createBullLanes } from '../dist/bullmq.js';
import { createNatsLanes } from '../dist/nats.js';
import { brokers, stopBrokers } from './encoded/brokers.js';
import { closeAfterAll, closeLater } from './encoded/shared.js';
import { fresh, until } from './helpers.js';

afterAll(stopBrokers, 60_000);
closeAfterAll();
beforeAll(async () => void (await brokers()), 120_000);

/** The drain interval of every router here: the reloads below all happen before its first tick. */
const INTERVAL_MS = 1_500;
const LIVENESS = { intervalMs: 100, graceMs: 300 };
/** How long stranded messages may take to reach the default lane once the loop knows the lane. */
const DRAINED_WITHIN_MS = 4 * INTERVAL_MS + 2_000;

/** One logical queue on one broker, driven by the rows. */
interface Lane {
  /** Puts `ids` straight on `lane`'s destination, marked `lane`: what producers routed there. */
  strand(lane: string, ids: readonly string[]): Promise<void>;
  /** Starts the default lane's consumer (its drain loop is built when this resolves). */
  consumeDefault(onMessage: (id: string) => void): Promise<{ close(): Promise<void> }>;
  /** Messages still waiting on `lane`'s destination. */
  pending(lane: string): Promise<number>;
}

type Open = (name: string, lanes: MessageLanes, every: readonly string[]) => Promise<Lane>;

const VERSIONS = ['stable', 'beta', 'gamma', 'delta'] as const;
/** Lanes are set up for every version first (a setup-only router), as an earlier deploy did. */
const everything = createMessageLanes({ config: { versions: VERSIONS, default: 'stable' } });

const openAmqp: Open = async (name, lanes) => {
  const { connection } = (await brokers()).rabbit;
  const base = { connection, queue: name, queueOptions: { durable: false } };
  await createAmqpLanes({ lanes: everything, ...base }).setup();
  const router = createAmqpLanes({
    lanes,
    ...base,
    liveness: LIVENESS,
    drainIntervalMs: INTERVAL_MS,
  });
  closeLater(() => router.close());
  const raw = await connection.createConfirmChannel();
  closeLater(() => raw.close());
  return {
    async strand(lane, ids) {
      for (const id of ids) {
        raw.sendToQueue(router.queueFor(lane), Buffer.from(id), { headers: { 'x-gray-id': lane } });
      }
      await raw.waitForConfirms();
    },
    consumeDefault: (onMessage) =>
      router.consume('stable', (msg, ch) => {
        onMessage(msg.content.toString());
        ch.ack(msg);
      }),
    pending: async (lane) => (await raw.checkQueue(router.queueFor(lane))).messageCount,
  };
};

const openNats: Open = async (name, lanes) => {
  const nc = await connect({ servers: (await brokers()).nats.url });
  closeLater(() => nc.close());
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const base = { js, jsm, stream: name, subject: name.toLowerCase() };
  await createNatsLanes({ lanes: everything, ...base }).setup();
  const router = createNatsLanes({
    lanes,
    ...base,
    liveness: LIVENESS,
    drainIntervalMs: INTERVAL_MS,
  });
  return {
    async strand(lane, ids) {
      for (const id of ids) {
        const h = headers();
        h.set('x-gray-id', lane);
        await js.publish(router.subjectFor(lane), id, { headers: h });
      }
    },
    consumeDefault: (onMessage) =>
      router.consume('stable', (m) => {
        onMessage(m.string());
        m.ack();
      }),
    async pending(lane) {
      const info = await jsm.consumers.info(name, router.durableFor(lane));
      return info.num_pending + info.num_ack_pending;
    },
  };
};

const openBull: Open = async (name, lanes) => {
  const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
  const redis = new Redis(connection.port, connection.host);
  closeLater(() => redis.quit());
  const router = createBullLanes({
    lanes,
    name,
    connection,
    redis,
    liveness: LIVENESS,
    drainIntervalMs: INTERVAL_MS,
  });
  closeLater(() => router.close());
  const queue = (lane: string): Queue => new Queue(router.queueFor(lane), { connection });
  return {
    async strand(lane, ids) {
      const q = queue(lane);
      await q.addBulk(ids.map((id) => ({ name: id, data: { id, __gray: lane } })));
      await q.close();
    },
    async consumeDefault(onMessage) {
      const w = router.worker('stable', async (job) => onMessage(job.name));
      await w.worker.waitUntilReady();
      return w;
    },
    async pending(lane) {
      const q = queue(lane);
      const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      await q.close();
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
  };
};

const CLIENTS = [
  ['amqp', openAmqp],
  ['nats', openNats],
  ['bullmq', openBull],
] as const;

/** A config step: after `at` ms from the loop's start, the store lists `versions`. */
type Step = readonly [at: number, versions: readonly string[]];

interface Scenario {
  readonly name: string;
  /** The config the consumer starts with. */
  readonly initial: readonly string[];
  /** Reloads, all before the drain loop's first tick (INTERVAL_MS). */
  readonly steps: readonly Step[];
  /** The lanes messages wait on (stranded before the consumer starts, or `late`: after the steps). */
  readonly stranded: readonly string[];
  readonly late?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  ...[0, 300, 700].map((at) => ({
    name: `beta removed ${at} ms after the consumer started`,
    initial: ['stable', 'beta'],
    steps: [[at, ['stable']]] as const,
    stranded: ['beta'],
  })),
  {
    name: 'beta removed at 0 ms, messages left on its lane after the reload',
    initial: ['stable', 'beta'],
    steps: [[0, ['stable']]],
    stranded: ['beta'],
    late: true,
  },
  {
    name: 'beta removed, re-added and removed again before the first tick',
    initial: ['stable', 'beta'],
    steps: [
      [100, ['stable']],
      [300, ['stable', 'beta']],
      [600, ['stable']],
    ],
    stranded: ['beta'],
  },
  {
    name: 'beta added after the consumer started and removed before the first tick',
    initial: ['stable'],
    steps: [
      [100, ['stable', 'beta']],
      [600, ['stable']],
    ],
    stranded: ['beta'],
    late: true,
  },
  {
    name: 'beta, gamma and delta removed at 0 ms',
    initial: VERSIONS,
    steps: [[0, ['stable']]],
    stranded: ['beta', 'gamma', 'delta'],
  },
  {
    name: 'gamma removed at 200 ms, then beta and delta at 500 ms',
    initial: VERSIONS,
    steps: [
      [200, ['stable', 'beta', 'delta']],
      [500, ['stable']],
    ],
    stranded: ['beta', 'gamma', 'delta'],
  },
];

const sleepUntil = (t0: number, at: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.max(0, t0 + at - performance.now())));

describe('MQ-19 a lane removed before the drain loop has ticked still drains', () => {
  it.each(CLIENTS.flatMap(([client, open]) => SCENARIOS.map((s) => ({ client, open, ...s }))))(
    'MQ-19 $client · $name: every stranded message reaches the default lane',
    async (row) => {
      const store = createConfigStore({ initial: { versions: row.initial, default: 'stable' } });
      const lanes = createMessageLanes({ config: store });
      const q = await row.open(fresh('reload'), lanes, VERSIONS);
      const ids = row.stranded.flatMap((lane) =>
        Array.from({ length: 15 }, (_, i) => `${lane}-${i}`),
      );
      const strand = async (): Promise<void> => {
        for (const lane of row.stranded)
          await q.strand(
            lane,
            ids.filter((id) => id.startsWith(lane)),
          );
      };
      if (!row.late) await strand();
      const seen = new Map<string, string>();
      const consumer = await q.consumeDefault((id) => seen.set(id, getGrayVersion()));
      closeLater(() => consumer.close());
      const t0 = performance.now();
      for (const [at, versions] of row.steps) {
        await sleepUntil(t0, at);
        const r = store.update({ versions, default: 'stable' }, { source: 'reload' });
        expect(r.status).toBe('changed');
      }
      // Every reload happened before the loop's first tick: else the row proves nothing.
      expect(performance.now() - t0).toBeLessThan(INTERVAL_MS);
      if (row.late) await strand();
      await until(() => ids.every((id) => seen.has(id)), DRAINED_WITHIN_MS).catch(() => undefined);
      expect({ missing: ids.filter((id) => !seen.has(id)).length }).toEqual({ missing: 0 });
      // Drained into the default lane: run there as the default version (the marker names a
      // version the config no longer lists).
      expect(new Set(seen.values())).toEqual(new Set(['stable']));
      for (const lane of row.stranded) await until(async () => (await q.pending(lane)) === 0);
      await consumer.close();
    },
    30_000,
  );
});
