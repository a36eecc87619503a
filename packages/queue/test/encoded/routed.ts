import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../../dist/index.js';
import { createAmqpLanes } from '../../dist/amqp.js';
import { createBullLanes } from '../../dist/bullmq.js';
import { createNatsLanes } from '../../dist/nats.js';
import { CONFIG, fresh, until } from '../helpers.js';
import type { Kept, Trust } from '../relay.js';
import { TRUSTS } from '../relay.js';
import { amqpRun, expectGot } from './anywhere.js';
import { brokers } from './brokers.js';
import { TOKEN, type Pair } from './rows.js';

const STABLE: Kept = { version: 'stable' };
const EVERYWHERE = { open: STABLE, signed: STABLE, ignore: STABLE };

/**
 * amqplib decodes a header table by assignment, so a header named `__proto__` holding a table
 * becomes the prototype of `properties.headers`: the handler reads `headers['x-gray-id']` from it
 * and a raw republish (`for…in`) sends it on, though the consumer never judged it (GW-01).
 */
const PROTO_ROWS = [
  ['holding x-gray-id: beta', '{"__proto__":{"x-gray-id":"beta"}}', EVERYWHERE],
  ['holding baggage: gray=beta', '{"__proto__":{"baggage":"gray=beta"}}', EVERYWHERE],
  ['holding a signed token', `{"__proto__":{"x-gray-id":"${TOKEN}"}}`, EVERYWHERE],
  [
    'a chain of them holding X-Gray-Id',
    '{"__proto__":{"__proto__":{"X-Gray-Id":"beta"}}}',
    EVERYWHERE,
  ],
  [
    'holding baggage: gray=stable, beside x-gray-id: beta',
    '{"x-gray-id":"beta","__proto__":{"baggage":"gray=stable"}}',
    { open: { version: 'beta', header: 'beta' }, signed: STABLE, ignore: STABLE },
  ],
] as const;

/** Header pairs with the marker after `before` other keys. */
function after(before: number, marker: readonly Pair[], trailing = 0): Pair[] {
  const junk = (n: number, from: number): Pair[] =>
    Array.from({ length: n }, (_, i) => [`j${from + i}`, 'x'] as const);
  return [...junk(before, 0), ...marker, ...junk(trailing, before)];
}

/** Routed by the router while lane beta has a live consumer: who ran it, in which version. */
const ROUTED: readonly { name: string; pairs: Pair[]; control?: boolean }[] = [
  { name: 'x-gray-id: beta after 300 other keys', pairs: after(300, [['x-gray-id', 'beta']]) },
  {
    name: 'Baggage: gray=beta after 300 other keys',
    pairs: after(300, [['Baggage', 'gray=beta']]),
  },
  {
    name: 'X-Gray-Id: beta first, 300 keys after it',
    pairs: after(0, [['X-Gray-Id', 'beta']], 300),
    control: true,
  },
];

export function routedTests(): void {
  describe('GW-01 RabbitMQ: a `__proto__` header table never passes a marker to the handler', () => {
    const rows = TRUSTS.flatMap((trust: Trust) =>
      PROTO_ROWS.map(([name, json, expect], i) => ({
        key: `${trust}|proto${i}`,
        trust,
        name,
        table: () => JSON.parse(json) as Record<string, unknown>,
        want: expect[trust],
      })),
    );
    let run: ReturnType<typeof amqpRun> | undefined;
    it.each(rows)(
      'GW-01 amqp $trust · a __proto__ header $name',
      async ({ key, want }) => expectGot((await (run ??= amqpRun(rows))).get(key), want),
      60_000,
    );
  });

  describe('GW-01 MQ-10 a router reads the marker where its consumer does: anywhere in the table', () => {
    const lanes = createMessageLanes({ config: CONFIG });
    type Ran = Map<string, { consumer: string; version: string }>;
    const check = (ran: Ran, key: string): void =>
      expect(ran.get(key)).toEqual({ consumer: 'beta', version: 'beta' });

    it.each(ROUTED.map((r, i) => ({ ...r, i, tag: r.control ? '(control)' : '' })))(
      'GW-01 MQ-10 amqp router.publish · $name → the beta consumer, in beta $tag',
      async ({ pairs, i }) => {
        const { connection } = (await brokers()).rabbit;
        const router = createAmqpLanes({
          lanes,
          connection,
          queue: fresh('encroute'),
          queueOptions: { durable: false },
          liveness: { intervalMs: 100, graceMs: 1000 },
        });
        await router.setup();
        const ran: Ran = new Map();
        const consumers = await Promise.all(
          (['stable', 'beta'] as const).map((lane) =>
            router.consume(lane, (msg, ch) => {
              ran.set(msg.content.toString(), { consumer: lane, version: getGrayVersion() });
              ch.ack(msg);
            }),
          ),
        );
        try {
          await until(() => router.liveness.refresh('beta'));
          await router.publish(Buffer.from(`r${i}`), { headers: Object.fromEntries(pairs) });
          await until(() => ran.has(`r${i}`));
          check(ran, `r${i}`);
        } finally {
          for (const c of consumers) await c.close();
          await router.close();
        }
      },
      60_000,
    );

    it.each(ROUTED.map((r, i) => ({ ...r, i, tag: r.control ? '(control)' : '' })))(
      'GW-01 MQ-10 nats router.publish · $name → the beta consumer, in beta $tag',
      async ({ pairs, i }) => {
        const nc = await connect({ servers: (await brokers()).nats.url });
        const stream = fresh('ENCROUTE');
        const router = createNatsLanes({
          lanes,
          js: jetstream(nc),
          jsm: await jetstreamManager(nc),
          stream,
          subject: stream.toLowerCase(),
          liveness: { intervalMs: 100, graceMs: 1000 },
        });
        await router.setup();
        const ran: Ran = new Map();
        const consumers = await Promise.all(
          (['stable', 'beta'] as const).map((lane) =>
            router.consume(lane, (m) => {
              ran.set(m.string(), { consumer: lane, version: getGrayVersion() });
              m.ack();
            }),
          ),
        );
        try {
          await until(() => router.liveness.refresh('beta'));
          const h = headers();
          for (const [k, v] of pairs) h.append(k, v);
          await router.publish(`r${i}`, { headers: h });
          await until(() => ran.has(`r${i}`));
          check(ran, `r${i}`);
        } finally {
          for (const c of consumers) await c.close();
          await nc.close();
        }
      },
      60_000,
    );

    it('GW-01 MQ-10 bullmq router.add · __gray: beta after 3,000 other keys → the beta worker, in beta (control)', async () => {
      const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
      const redis = new Redis(connection.port, connection.host);
      const router = createBullLanes({
        lanes,
        name: fresh('encroute'),
        connection,
        redis,
        heartbeatTtlMs: 3000,
        liveness: { intervalMs: 100, graceMs: 1000 },
      });
      const ran: Ran = new Map();
      const workers = (['stable', 'beta'] as const).map((lane) =>
        router.worker(lane, async (job) => {
          const key = String((job.data as { key: string }).key);
          ran.set(key, { consumer: lane, version: getGrayVersion() });
        }),
      );
      try {
        await until(() => router.liveness.refresh('beta'));
        const data = Object.fromEntries([...after(3000, [['__gray', 'beta']]), ['key', 'b']]);
        await router.add('m', data);
        await until(() => ran.has('b'));
        check(ran, 'b');
      } finally {
        for (const w of workers) await w.close();
        await router.close();
        await redis.quit();
      }
    }, 60_000);
  });
}
