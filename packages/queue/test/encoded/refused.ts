import { headers } from '@nats-io/transport-node';
import { runWithGray } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { laneRouters } from './routers.js';
import { outcome } from './shared.js';

/**
 * MQ-23: a router routes a message by the marker it reads on the object passed to it; its
 * consumer judges what the client encoded from that object. Where the client would encode
 * something else (amqplib: inherited keys, a Map sent as an empty table, typed values; NATS: a
 * header object that is not a header set; BullMQ: JSON's `toJSON`, boxed strings, a class
 * instance's own `__gray`), the router refuses it with INVALID_OPTIONS and sends nothing.
 * Everything it accepts runs on the consumer of the lane it was routed to (controls).
 */
const LANES = [
  ['outside a lane', <T>(fn: () => T): T => fn()],
  ['in lane beta', <T>(fn: () => T): T => runWithGray('beta', fn)],
] as const;

class TableLike {
  'x-gray-id' = 'beta';
}
class Order {
  id = 1;
  __gray = 'beta';
}
const typed = (value: unknown) => ({ '!': 'string', value });

const AMQP_REFUSED: readonly [string, () => unknown][] = [
  ["typed { '!': 'string' } under x-gray-id", () => ({ 'x-gray-id': typed('beta') })],
  ["typed { '!': 'string' } under X-Gray-Id", () => ({ 'X-Gray-Id': typed('beta') })],
  ["typed { '!': 'string' } under Baggage", () => ({ Baggage: typed('gray=beta') })],
  ['a typed value inside a list under x-gray-id', () => ({ 'x-gray-id': [typed('beta')] })],
  [
    "typed { '!': 'timestamp' } under x-gray-id",
    () => ({ 'x-gray-id': { '!': 'timestamp', value: 1 } }),
  ],
  ['an inherited enumerable x-gray-id', () => Object.create({ 'x-gray-id': 'beta' }) as object],
  ['a Map', () => new Map([['x-gray-id', 'beta']])],
  ['a class instance', () => new TableLike()],
  ['a list of pairs', () => [['x-gray-id', 'beta']]],
];

const AMQP_ACCEPTED: readonly [string, () => Record<string, unknown>, string][] = [
  ['plain x-gray-id: beta', () => ({ 'x-gray-id': 'beta' }), 'beta'],
  [
    'a typed value under another key',
    () => ({ 'x-n': { '!': 'int', value: 5 }, 'x-gray-id': 'beta' }),
    'beta',
  ],
  [
    'a null-prototype table',
    () => Object.assign(Object.create(null) as object, { 'x-gray-id': 'beta' }),
    'beta',
  ],
  ['x-gray-id: undefined', () => ({ 'x-gray-id': undefined }), 'stable'],
];

const NATS_REFUSED: readonly [string, () => unknown][] = [
  ['a plain object', () => ({ 'x-gray-id': 'beta' })],
  ['a Map', () => new Map([['x-gray-id', ['beta']]])],
  ['a list of pairs', () => [['x-gray-id', 'beta']]],
  ['an object with keys() only', () => ({ keys: () => ['x-gray-id'], get: () => 'beta' })],
];

const BULL_REFUSED: readonly [string, () => unknown][] = [
  ['data whose toJSON adds __gray', () => ({ id: 1, toJSON: () => ({ id: 1, __gray: 'beta' }) })],
  ['a class instance with its own __gray', () => new Order()],
  ['__gray: new String("beta")', () => ({ __gray: new String('beta') })],
  ['__gray: [new String("beta")]', () => ({ __gray: [new String('beta')] })],
  ['__gray with a toJSON', () => ({ __gray: { toJSON: () => 'beta' } })],
  ['__gray: a Date', () => ({ __gray: new Date(0) })],
  ['a Date as the data', () => new Date(0)],
];

const BULL_ACCEPTED: readonly [string, () => unknown, string][] = [
  ['plain __gray: beta', () => ({ __gray: 'beta' }), 'beta'],
  [
    'a null-prototype object with __gray: beta',
    () => Object.assign(Object.create(null) as object, { __gray: 'beta' }),
    'beta',
  ],
  ['a Map (JSON: {})', () => new Map([['__gray', 'beta']]), 'stable'],
  ['a list', () => ['beta'], 'stable'],
];

const { amqp: amqpRouter, nats: natsRouter, bull: bullRouter } = laneRouters('encref');

let seq = 0;
const id = (): string => `m${++seq}`;

export function refusedTests(): void {
  describe('MQ-23 a router refuses a carrier its client would encode differently', () => {
    it.each(
      LANES.flatMap(([where, inLane]) =>
        AMQP_REFUSED.map(([name, make]) => ({ where, inLane, name, make })),
      ),
    )(
      'MQ-23 amqp publish() $where · headers: $name → INVALID_OPTIONS, nothing sent',
      async ({ inLane, make }) => {
        const { router, ran } = await amqpRouter();
        const key = id();
        const got = await outcome(() =>
          inLane(() => router.publish(Buffer.from(key), { headers: make() as never })),
        );
        expect(got).toMatch(/^INVALID_OPTIONS: .*createAmqpLanes\(\)\.publish: headers/);
        // A control published after it is consumed; the refused one never is.
        const after = id();
        await router.publish(Buffer.from(after));
        await until(() => ran.has(after));
        expect(ran.has(key)).toBe(false);
      },
    );

    it.each(
      LANES.flatMap(([where, inLane]) =>
        AMQP_ACCEPTED.map(([name, make, lane]) => ({
          where,
          inLane,
          name,
          make,
          lane: where === 'in lane beta' ? 'beta' : lane,
        })),
      ),
    )(
      'MQ-23 amqp publish() $where · headers: $name → the $lane consumer, in $lane (control)',
      async ({ inLane, make, lane }) => {
        const { router, ran } = await amqpRouter();
        const key = id();
        await inLane(() => router.publish(Buffer.from(key), { headers: make() }));
        await until(() => ran.has(key));
        expect(ran.get(key)).toEqual({ consumer: lane, version: lane });
      },
    );

    it.each(
      LANES.flatMap(([where, inLane]) =>
        NATS_REFUSED.map(([name, make]) => ({ where, inLane, name, make })),
      ),
    )(
      'MQ-23 nats publish() $where · headers: $name → INVALID_OPTIONS, nothing sent',
      async ({ inLane, make }) => {
        const { router, ran } = await natsRouter();
        const key = id();
        const got = await outcome(() =>
          inLane(() => router.publish(key, { headers: make() as never })),
        );
        expect(got).toMatch(/^INVALID_OPTIONS: .*createNatsLanes\(\)\.publish: headers/);
        const after = id();
        await router.publish(after);
        await until(() => ran.has(after));
        expect(ran.has(key)).toBe(false);
      },
    );

    it.each(LANES.map(([where, inLane]) => ({ where, inLane, lane: 'beta' })))(
      'MQ-23 nats publish() $where · a header set with x-gray-id: beta → the beta consumer (control)',
      async ({ inLane, lane }) => {
        const { router, ran } = await natsRouter();
        const key = id();
        const h = headers();
        h.set('x-gray-id', 'beta');
        await inLane(() => router.publish(key, { headers: h }));
        await until(() => ran.has(key));
        expect(ran.get(key)).toEqual({ consumer: lane, version: lane });
      },
    );

    it.each(
      LANES.flatMap(([where, inLane]) =>
        BULL_REFUSED.flatMap(([name, make]) =>
          (['add', 'addBulk'] as const).map((api) => ({ where, inLane, name, make, api })),
        ),
      ),
    )(
      'MQ-23 bullmq $api() $where · data: $name → INVALID_OPTIONS, nothing added',
      async ({ inLane, make, api }) => {
        const { router, counts } = await bullRouter();
        const before = await counts();
        const got = await outcome(() =>
          inLane(() =>
            api === 'add'
              ? router.add(id(), make())
              : router.addBulk([
                  { name: id(), data: { ok: 1 } },
                  { name: id(), data: make() },
                ]),
          ),
        );
        expect(got).toMatch(/^INVALID_OPTIONS: .*createBullLanes\(\)\.add(Bulk)?: /);
        expect(await counts()).toBe(before);
      },
    );

    it.each(
      LANES.flatMap(([where, inLane]) =>
        BULL_ACCEPTED.map(([name, make, lane]) => ({ where, inLane, name, make, lane })),
      ),
    )(
      'MQ-23 bullmq add() $where · data: $name → the $lane worker, in $lane (control)',
      async ({ inLane, make, lane }) => {
        const { router, ran } = await bullRouter();
        const key = id();
        await inLane(() => router.add(key, make()));
        await until(() => ran.has(key));
        expect(ran.get(key)).toEqual({ consumer: lane, version: lane });
      },
    );
  });
}
