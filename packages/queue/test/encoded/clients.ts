import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ChannelModel } from 'amqplib';
import { Queue, Worker } from 'bullmq';
import * as natsV2 from 'nats';
import { describe, expect, it } from 'vitest';
import { createAmqpLanes } from '../../dist/amqp.js';
import { createBullLanes } from '../../dist/bullmq.js';
import { createNatsLanes } from '../../dist/nats.js';
import { fresh, until } from '../helpers.js';
import { brokers } from './brokers.js';
import { closeLater, lanes, lazily, outcome } from './shared.js';

/**
 * MQ-24: a wrong client object is refused when the router is built, naming the option and what
 * was passed instead; a BullMQ lane worker never keeps running unless `worker()` returned it.
 */
export function clientTests(): void {
  describe('MQ-24 a router refuses a wrong client object when it is built', () => {
    const nats = lazily(async () => {
      const url = (await brokers()).nats.url;
      const nc: NatsConnection = await connect({ servers: url });
      const nc2 = await natsV2.connect({ servers: url });
      closeLater(() => nc.close());
      closeLater(() => nc2.close());
      return {
        nc,
        nc2,
        js: jetstream(nc),
        jsm: await jetstreamManager(nc),
        js2: nc2.jetstream(),
        jsm2: await nc2.jetstreamManager(),
      };
    });
    type N = Awaited<ReturnType<typeof nats>>;
    const NATS: readonly [string, (c: N) => object, RegExp | 'accepted'][] = [
      [
        'js: a NatsConnection',
        (c) => ({ js: c.nc, jsm: c.jsm }),
        /js must be a JetStream client.*got a NatsConnection/,
      ],
      [
        'js: a nats v2 NatsConnection',
        (c) => ({ js: c.nc2, jsm: c.jsm }),
        /js must be .*got a NatsConnection/,
      ],
      [
        'js: a JetStreamManager',
        (c) => ({ js: c.jsm, jsm: c.jsm }),
        /js must be .*got a JetStreamManager/,
      ],
      ['js: {}', (c) => ({ js: {}, jsm: c.jsm }), /js must be .*no publish, consumers\.get/],
      [
        'js: an object with publish only',
        (c) => ({ js: { publish: () => undefined }, jsm: c.jsm }),
        /js must be .*no consumers\.get/,
      ],
      [
        'jsm: a JetStream client',
        (c) => ({ js: c.js, jsm: c.js }),
        /jsm must be a JetStreamManager.*got a JetStream client/,
      ],
      [
        'jsm: a NatsConnection',
        (c) => ({ js: c.js, jsm: c.nc }),
        /jsm must be .*got a NatsConnection/,
      ],
      [
        'jsm: a promise of a manager (not awaited)',
        (c) => ({ js: c.js, jsm: Promise.resolve(c.jsm) }),
        /jsm must be .*got a promise \(await it first\)/,
      ],
      ['@nats-io/jetstream clients', (c) => ({ js: c.js, jsm: c.jsm }), 'accepted'],
      ['nats v2 clients', (c) => ({ js: c.js2, jsm: c.jsm2 }), 'accepted'],
    ];
    it.each(
      NATS.map(([name, make, want]) => ({
        name,
        make,
        want,
        tag: want === 'accepted' ? 'accepted (control)' : 'INVALID_OPTIONS',
      })),
    )('MQ-24 createNatsLanes · $name → $tag', async ({ make, want }) => {
      const clients = make(await nats());
      const got = await outcome(() =>
        createNatsLanes({ lanes, stream: 'S', subject: 's', ...clients } as never),
      );
      if (want === 'accepted') expect(got).toBe('resolved');
      else expect(got).toMatch(new RegExp(`^INVALID_OPTIONS: .*createNatsLanes: ${want.source}`));
    });

    // `make` takes the broker's connection; a wrong object is built from it, never awaited.
    const AMQP: readonly [
      string,
      (c: ChannelModel) => Promise<{ value: unknown }>,
      RegExp | 'accepted',
    ][] = [
      ['a Channel', async (c) => ({ value: await c.createChannel() }), /got a Channel/],
      [
        'a ConfirmChannel',
        async (c) => ({ value: await c.createConfirmChannel() }),
        /got a Channel/,
      ],
      [
        'a promise of a connection (not awaited)',
        async (c) => ({ value: Promise.resolve(c) }),
        /got a promise \(await it first\)/,
      ],
      [
        "the model's inner connection",
        async (c) => ({ value: (c as unknown as { connection: unknown }).connection }),
        /no createChannel/,
      ],
      ['{}', async () => ({ value: {} }), /no createChannel, createConfirmChannel/],
      ['the amqplib connection', async (c) => ({ value: c }), 'accepted'],
    ];
    it.each(
      AMQP.map(([name, make, want]) => ({
        name,
        make,
        want,
        tag: want === 'accepted' ? 'accepted (control)' : 'INVALID_OPTIONS',
      })),
    )('MQ-24 createAmqpLanes · connection: $name → $tag', async ({ name, make, want }) => {
      const { value: connection } = await make((await brokers()).rabbit.connection);
      const got = await outcome(() => createAmqpLanes({ lanes, queue: 'q', connection } as never));
      if (name.includes('Channel')) await (connection as { close(): Promise<void> }).close();
      if (want === 'accepted') expect(got).toBe('resolved');
      else
        expect(got).toMatch(
          new RegExp(
            `^INVALID_OPTIONS: .*createAmqpLanes: connection must be an amqplib connection.*${want.source}`,
          ),
        );
    });

    const BULL: readonly [string, (port: number) => unknown, RegExp][] = [
      ['{}', () => ({}), /no set, exists/],
      ['the BullMQ connection options', (port) => ({ host: '127.0.0.1', port }), /no set, exists/],
      ['an object with set only', () => ({ set: async () => 'OK' }), /no exists/],
      ['an object with exists only', () => ({ exists: async () => 0 }), /no set/],
      ['a promise of a client', () => Promise.resolve({}), /no set, exists/],
    ];
    it.each(BULL.map(([name, make, want]) => ({ name, make, want })))(
      'MQ-24 createBullLanes · redis: $name → INVALID_OPTIONS',
      async ({ make, want }) => {
        const port = (await brokers()).redis.port;
        const got = await outcome(() =>
          createBullLanes({
            lanes,
            name: 'q',
            connection: { host: '127.0.0.1', port },
            redis: make(port),
          } as never),
        );
        expect(got).toMatch(
          new RegExp(`^INVALID_OPTIONS: .*createBullLanes: redis must be .*${want.source}`),
        );
      },
    );

    it('MQ-24 bullmq redis: {} then worker("beta"): refused, and no worker is left taking the lane’s jobs', async () => {
      const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
      const name = fresh('encorphan');
      const orphaned: string[] = [];
      const got = await outcome(() =>
        createBullLanes({ lanes, name, connection, redis: {} as never }).worker(
          'beta',
          async (job) => {
            orphaned.push(String(job.id));
          },
        ),
      );
      expect(got).toMatch(/^INVALID_OPTIONS: /);
      // Whatever worker exists on the lane's queue takes its jobs: only ours may.
      const laneQueue = `${name}.lane.beta`;
      const mine: string[] = [];
      const worker = new Worker(laneQueue, async (job) => void mine.push(String(job.id)), {
        connection,
        concurrency: 1,
      });
      const queue = new Queue(laneQueue, { connection });
      try {
        await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: `j${i}`, data: {} })));
        await until(() => mine.length + orphaned.length === 20);
        expect(orphaned).toEqual([]);
      } finally {
        await worker.close();
        await queue.close();
      }
    });

    it('MQ-24 bullmq a Redis client whose set throws: worker() still returns its worker (the lane just never looks alive)', async () => {
      const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
      const redis = {
        set: () => {
          throw new Error('redis down');
        },
        exists: async () => 0,
      };
      const router = createBullLanes({ lanes, name: fresh('encthrow'), connection, redis });
      const got = await outcome(async () => {
        const w = router.worker('beta', async () => undefined);
        await w.worker.waitUntilReady();
        await w.close();
      });
      await router.close();
      expect(got).toBe('resolved');
      expect(await router.liveness.refresh('beta')).toBe(false);
    });
  });
}
