// MQ-23 (review 54 D1): a router judges the marker its client will deliver, not the object it was
// handed. A value graylane reads one way and the client encodes another — a Uint8Array that is
// not a Buffer (amqplib: a field table; BullMQ's JSON: {"0":98,…}; NATS: "98,101,…"), a
// non-enumerable __gray (JSON leaves it out), NATS header values set around the client's checks
// (trimmed, split on CR LF, names it cannot decode) — is refused with INVALID_OPTIONS and nothing
// is sent; the same marker in the shape the error names is routed and run in its lane. Sweeps
// over many value shapes × carrier forms check the contract itself: whatever a router accepts
// runs on the consumer of the lane it was routed to, in that lane. RabbitMQ, nats-server and
// redis-server on 127.0.0.1, once for the file.
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { runWithGray } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokers, stopBrokers } from './encoded/brokers.js';
import { laneRouters, type Ran } from './encoded/routers.js';
import { closeAfterAll, outcome } from './encoded/shared.js';
import { until } from './helpers.js';

afterAll(stopBrokers, 60_000);
closeAfterAll();
beforeAll(async () => void (await brokers()), 120_000);

const CONTEXTS = [
  ['outside a lane', <T>(fn: () => T): T => fn()],
  ['in lane beta', <T>(fn: () => T): T => runWithGray('beta', fn)],
] as const;

/** Makes a carrier value holding `text`. */
type Shape = (text: string) => unknown;

const u8 = (text: string): Uint8Array => new TextEncoder().encode(text);
class Bytes extends Uint8Array {}

/** Byte shapes graylane reads as bytes and no client sends as bytes: only a Buffer is. */
const U8_SHAPES: readonly (readonly [string, Shape])[] = [
  ['a Uint8Array (TextEncoder)', u8],
  ['a Uint8Array copy of a Buffer', (t) => new Uint8Array(Buffer.from(t))],
  ['a Uint8Array subclass', (t) => Bytes.from(u8(t))],
  [
    'a Uint8Array view inside a larger buffer',
    (t) => new Uint8Array(u8(`..${t}..`).buffer, 2, t.length),
  ],
];

/** Every shape the sweeps send (a value holding `text` where it can). */
const ALL_SHAPES: readonly (readonly [string, Shape])[] = [
  ['a string', (t) => t],
  ['a Buffer', (t) => Buffer.from(t)],
  ...U8_SHAPES,
  ['a Uint8ClampedArray', (t) => new Uint8ClampedArray(u8(t))],
  ['an Int8Array', (t) => new Int8Array(u8(t))],
  ['a Uint16Array', (t) => new Uint16Array(u8(t))],
  ['a Float64Array', (t) => new Float64Array(u8(t))],
  ['a DataView', (t) => new DataView(u8(t).buffer)],
  ['an ArrayBuffer', (t) => u8(t).buffer],
  ['a boxed String', (t) => new String(t)],
  ['an object with toString', (t) => ({ toString: () => t })],
  ['an object with toJSON', (t) => ({ toJSON: () => t })],
  ['a Date', () => new Date(0)],
  ['a plain object', (t) => ({ value: t })],
  ['a number', () => 5],
  ['a boolean', () => true],
  ['null', () => null],
  ['a bigint', () => 5n],
  ['a symbol', (t) => Symbol(t)],
  ['a string with a lone surrogate', (t) => `${t}\ud800`],
  ['a string with a no-break space', (t) => `\u00a0${t}`],
];

let seq = 0;
const id = (): string => `s${++seq}`;

const { amqp: amqpRouter, nats: natsRouter, bull: bullRouter } = laneRouters('shapes');

/** A NATS header set holding `record` as given, around `set()`'s checks (`MsgHdrsImpl.fromRecord`). */
function natsRecord(record: Record<string, unknown[]>): MsgHdrs {
  const impl = headers().constructor as unknown as {
    fromRecord(r: Record<string, unknown[]>): MsgHdrs;
  };
  return impl.fromRecord(record);
}

/** AMQP carrier forms: a table holding a value made by `shape` as the marker or as baggage. */
const AMQP_FORMS: readonly (readonly [string, (shape: Shape) => Record<string, unknown>])[] = [
  ['x-gray-id: v', (v) => ({ 'x-gray-id': v('beta') })],
  ['X-Gray-Id: v', (v) => ({ 'X-Gray-Id': v('beta') })],
  ['x-gray-id: [v]', (v) => ({ 'x-gray-id': [v('beta')] })],
  ['baggage: v', (v) => ({ baggage: v('gray=beta') })],
  ['Baggage: [v]', (v) => ({ Baggage: [v('gray=beta')] })],
  ["baggage: ['k=1', v]", (v) => ({ baggage: ['k=1', v('gray=beta')] })],
];

const BULL_FORMS: readonly (readonly [string, (shape: Shape) => Record<string, unknown>])[] = [
  ['__gray: v', (v) => ({ id: 1, __gray: v('beta') })],
  ['__gray: [v]', (v) => ({ id: 1, __gray: [v('beta')] })],
];

const NATS_FORMS: readonly (readonly [string, (shape: Shape) => MsgHdrs])[] = [
  ['x-gray-id: [v]', (v) => natsRecord({ 'x-gray-id': [v('beta')] })],
  ['X-Gray-Id: [v]', (v) => natsRecord({ 'X-Gray-Id': [v('beta')] })],
  ['baggage: [v]', (v) => natsRecord({ baggage: [v('gray=beta')] })],
];

/** NATS header sets whose values or names the client sends as something else than they hold. */
const NATS_REWRITTEN: readonly (readonly [string, () => MsgHdrs])[] = [
  [
    'x-gray-id: ["\\u00a0beta"] (NATS trims it to beta)',
    () => natsRecord({ 'x-gray-id': ['\u00a0beta'] }),
  ],
  [
    'x-gray-id: [an object whose toString is beta]',
    () => natsRecord({ 'x-gray-id': [{ toString: () => 'beta' }] }),
  ],
  [
    'x-note: ["stable\\r\\nx-gray-id: beta"] (a value holding CR LF)',
    () => natsRecord({ 'x-note': ['stable\r\nx-gray-id: beta'] }),
  ],
  [
    'a name holding CR LF: "x-gray-id: beta\\r\\nx-pad"',
    () => natsRecord({ 'x-gray-id: beta\r\nx-pad': ['1'] }),
  ],
  [
    'x-gray-id: beta with a name NATS cannot decode ("x bad")',
    () => natsRecord({ 'x-gray-id': ['beta'], 'x bad': ['1'] }),
  ],
  [
    'x-gray-id: beta with a value holding a lone LF',
    () => natsRecord({ 'x-gray-id': ['beta'], 'x-note': ['a\nb'] }),
  ],
  [
    'a status description holding CR LF: headers(503, "x\\r\\nx-gray-id: beta")',
    () => headers(503, 'x\r\nx-gray-id: beta'),
  ],
];

/** Sends `send()`: refused, or consumed by the consumer of its lane, in that lane. */
async function accepted(ran: Ran, key: string, send: () => Promise<unknown>): Promise<string> {
  const got = await outcome(send);
  if (got !== 'resolved') return got;
  await until(() => ran.has(key));
  return 'resolved';
}

describe('MQ-23 a router judges what its client will deliver (review 54 D1)', () => {
  it.each(
    CONTEXTS.flatMap(([where, inLane]) =>
      AMQP_FORMS.flatMap(([form, make]) =>
        U8_SHAPES.map(([shape, value]) => ({ where, inLane, form, make, shape, value })),
      ),
    ),
  )(
    'MQ-23 amqp publish() $where · $form, v $shape → INVALID_OPTIONS, nothing sent; v as a Buffer → the beta consumer, in beta',
    async ({ inLane, make, value }) => {
      const { router, ran } = await amqpRouter();
      const key = id();
      const got = await outcome(() =>
        inLane(() => router.publish(Buffer.from(key), { headers: make(value) })),
      );
      expect(got).toMatch(
        /^INVALID_OPTIONS: .*createAmqpLanes\(\)\.publish: headers\["(x-gray-id|X-Gray-Id|baggage|Baggage)"\] holds a (Uint8Array|Bytes), which amqplib sends as a field table/,
      );
      // The shape the error names: routed to beta and run there; the refused one never arrives.
      const control = id();
      await inLane(() =>
        router.publish(Buffer.from(control), { headers: make((t) => Buffer.from(t)) }),
      );
      await until(() => ran.has(control));
      expect(ran.get(control)).toEqual({ consumer: 'beta', version: 'beta' });
      expect(ran.has(key)).toBe(false);
    },
  );

  it.each(
    CONTEXTS.flatMap(([where, inLane]) =>
      [
        ...BULL_FORMS.flatMap(([form, make]) =>
          U8_SHAPES.map(([shape, value]) => ({
            data: () => make(value),
            name: `${form}, v ${shape}`,
          })),
        ),
        {
          data: () => Object.defineProperty({ id: 1 }, '__gray', { value: 'beta' }),
          name: 'a non-enumerable __gray: "beta"',
        },
      ].flatMap((row) =>
        (['add', 'addBulk'] as const).map((api) => ({ where, inLane, api, ...row })),
      ),
    ),
  )(
    'MQ-23 bullmq $api() $where · $name → INVALID_OPTIONS, nothing added; __gray: "beta" → the beta worker, in beta',
    async ({ inLane, api, data }) => {
      const { router, ran, counts } = await bullRouter();
      const before = await counts();
      const got = await outcome(() =>
        inLane(() =>
          api === 'add'
            ? router.add(id(), data())
            : router.addBulk([
                { name: id(), data: { ok: 1 } },
                { name: id(), data: data() },
              ]),
        ),
      );
      expect(got).toMatch(
        /^INVALID_OPTIONS: .*createBullLanes\(\)\.add(Bulk)?: __gray (holds a (list|Uint8Array|Bytes), which BullMQ stores as the JSON|is not enumerable)/,
      );
      expect(await counts()).toBe(before);
      const control = id();
      await inLane(() => router.add(control, { __gray: 'beta' }));
      await until(() => ran.has(control));
      expect(ran.get(control)).toEqual({ consumer: 'beta', version: 'beta' });
    },
  );

  it.each(
    CONTEXTS.flatMap(([where, inLane]) => [
      ...NATS_FORMS.flatMap(([form, make]) =>
        U8_SHAPES.map(([shape, value]) => ({
          where,
          inLane,
          name: `${form}, v ${shape}`,
          make: () => make(value),
        })),
      ),
      ...NATS_REWRITTEN.map(([name, make]) => ({ where, inLane, name, make })),
    ]),
  )(
    'MQ-23 nats publish() $where · $name → INVALID_OPTIONS, nothing sent; set("x-gray-id", "beta") → the beta consumer, in beta',
    async ({ inLane, make }) => {
      const { router, ran } = await natsRouter();
      const key = id();
      const got = await outcome(() => inLane(() => router.publish(key, { headers: make() })));
      expect(got).toMatch(/^INVALID_OPTIONS: .*createNatsLanes\(\)\.publish: headers\[/);
      const control = id();
      const h = headers();
      h.set('x-gray-id', 'beta');
      await inLane(() => router.publish(control, { headers: h }));
      await until(() => ran.has(control));
      expect(ran.get(control)).toEqual({ consumer: 'beta', version: 'beta' });
      expect(ran.has(key)).toBe(false);
    },
  );

  /**
   * The contract over every shape × form: a publish the router accepts is run by the consumer
   * of the lane it was routed to, in that lane; a refused one (graylane's INVALID_OPTIONS, or the
   * client's own error before sending) never arrives.
   */
  const sweep = async (
    ran: Ran,
    rows: readonly { name: string; key: string; send: () => Promise<unknown> }[],
  ): Promise<void> => {
    const results: { name: string; got: string }[] = [];
    for (const row of rows)
      results.push({ name: row.name, got: await accepted(ran, row.key, row.send) });
    const wrong = rows
      .filter((row) => ran.has(row.key))
      .map((row) => ({ name: row.name, ...ran.get(row.key) }))
      .filter((r) => r.consumer !== r.version);
    expect(wrong).toEqual([]);
    // Refused ones: nothing of them arrived (the accepted ones after them all have).
    const refused = rows.filter((_, i) => results[i]?.got !== 'resolved');
    expect(refused.filter((row) => ran.has(row.key)).map((row) => row.name)).toEqual([]);
    // Plain strings are sent (the sweep sends something); the byte shapes are refused by
    // graylane, naming the value.
    expect(results.filter((r) => r.name.endsWith('v a string') && r.got !== 'resolved')).toEqual(
      [],
    );
    expect(
      results.filter(
        (r) => /Uint8Array|Bytes/.test(r.name) && !r.got.startsWith('INVALID_OPTIONS'),
      ),
    ).toEqual([]);
  };

  it.each(CONTEXTS.map(([where, inLane]) => ({ where, inLane })))(
    'MQ-23 amqp publish() $where · every shape × marker/baggage/list form: accepted ones run in the lane they were routed to',
    async ({ inLane }) => {
      const { router, ran } = await amqpRouter();
      const rows = AMQP_FORMS.flatMap(([form, make]) =>
        ALL_SHAPES.map(([shape, value]) => {
          const key = id();
          return {
            name: `${form}, v ${shape}`,
            key,
            send: () => inLane(() => router.publish(Buffer.from(key), { headers: make(value) })),
          };
        }),
      );
      await sweep(ran, rows);
    },
    120_000,
  );

  it.each(CONTEXTS.map(([where, inLane]) => ({ where, inLane })))(
    'MQ-23 bullmq add() $where · every shape × __gray form: accepted ones run in the lane they were routed to',
    async ({ inLane }) => {
      const { router, ran } = await bullRouter();
      const rows = BULL_FORMS.flatMap(([form, make]) =>
        ALL_SHAPES.map(([shape, value]) => {
          const key = id();
          return {
            name: `${form}, v ${shape}`,
            key,
            send: () => inLane(() => router.add(key, make(value))),
          };
        }),
      );
      await sweep(ran, rows);
    },
    120_000,
  );

  it.each(CONTEXTS.map(([where, inLane]) => ({ where, inLane })))(
    'MQ-23 nats publish() $where · every shape × header/baggage form: accepted ones run in the lane they were routed to',
    async ({ inLane }) => {
      const { router, ran } = await natsRouter();
      const rows = NATS_FORMS.flatMap(([form, make]) =>
        ALL_SHAPES.map(([shape, value]) => {
          const key = id();
          return {
            name: `${form}, v ${shape}`,
            key,
            send: () => inLane(() => router.publish(key, { headers: make(value) })),
          };
        }),
      );
      await sweep(ran, rows);
    },
    120_000,
  );
});
