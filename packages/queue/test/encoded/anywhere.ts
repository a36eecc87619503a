import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import { Queue, Worker } from 'bullmq';
import type { EachMessagePayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { grayPublishOptions, withGrayMessage } from '../../dist/amqp.js';
import { grayJobData, withGrayJob } from '../../dist/bullmq.js';
import { grayKafkaMessage, runInKafkaMessage, withGrayKafkaMessage } from '../../dist/kafka.js';
import { grayNatsHeaders, withGrayNatsMessage } from '../../dist/nats.js';
import { fresh, until } from '../helpers.js';
import { TRUSTS, carried, lanesByTrust, onwardProblems, type Kept, type Trust } from '../relay.js';
import { brokers } from './brokers.js';
import {
  POSITIONS,
  TABLE_ROWS,
  TOKEN,
  rawProblems,
  singleProblems,
  type Got,
  type Pair,
} from './rows.js';

/** Checks one message: the version, what stays on it, and what every relay idiom sends on. */
export function expectGot(got: Got | undefined, want: Kept): void {
  expect({ version: got?.version, ...carried(got?.seen ?? {}) }).toEqual({
    version: want.version,
    header: want.header,
    baggage: want.baggage,
  });
  expect({
    relayed: onwardProblems(got?.relayed ?? {}, want.version),
    raw: rawProblems(got?.seen ?? {}, want.version),
    single: singleProblems(got?.single, want.version),
  }).toEqual({ relayed: [], raw: [], single: [] });
}

/** Every enumerable key, own and inherited: what amqplib encodes when the table is republished. */
export function forIn(table: object): Record<string, unknown> {
  // Null prototype: a key named `__proto__` is copied as data.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k in table) out[k] = (table as Record<string, unknown>)[k];
  return out;
}

type Results = ReadonlyMap<string, Got>;

/** RabbitMQ: raw publishes, a bare `withGrayMessage` consumer per trust mode. */
export async function amqpRun(
  rows: readonly { key: string; trust: Trust; table: () => Record<string, unknown> }[],
): Promise<Results> {
  const { connection } = (await brokers()).rabbit;
  const results = new Map<string, Got>();
  const ch = await connection.createConfirmChannel();
  try {
    for (const trust of TRUSTS) {
      const lanes = lanesByTrust()[trust];
      const queue = fresh('encamqp');
      await ch.assertQueue(queue, { durable: false });
      const sub = await connection.createChannel();
      await sub.consume(
        queue,
        withGrayMessage(lanes, (msg) => {
          if (!msg) return;
          const h = msg.properties.headers ?? {};
          results.set(msg.content.toString(), {
            version: getGrayVersion(),
            seen: forIn(h),
            relayed: grayPublishOptions(lanes, { headers: h }).headers ?? {},
            single: (h as Record<string, unknown>)['x-gray-id'],
          });
          sub.ack(msg);
        }),
      );
      const mine = rows.filter((r) => r.trust === trust);
      for (const r of mine) ch.sendToQueue(queue, Buffer.from(r.key), { headers: r.table() });
      await ch.waitForConfirms();
      await until(() => mine.every((r) => results.has(r.key)), 15_000);
      await sub.close();
      await ch.deleteQueue(queue);
    }
  } finally {
    await ch.close();
  }
  return results;
}

function record(h: MsgHdrs | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of h ?? []) out[name] = [...values];
  return out;
}

/** NATS JetStream: raw `js.publish`, a bare `withGrayNatsMessage` consumer per trust mode. */
async function natsRun(rows: readonly { key: string; trust: Trust; pairs: readonly Pair[] }[]) {
  const nc = await connect({ servers: (await brokers()).nats.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const results = new Map<string, Got>();
  try {
    for (const trust of TRUSTS) {
      const lanes = lanesByTrust()[trust];
      const stream = fresh('ENCNATS');
      const subject = stream.toLowerCase();
      await jsm.streams.add({ name: stream, subjects: [subject], retention: 'workqueue' } as never);
      await jsm.consumers.add(stream, { durable_name: stream, ack_policy: 'explicit' } as never);
      const consumer = await js.consumers.get(stream, stream);
      const messages = await consumer.consume({
        callback: withGrayNatsMessage(lanes, (m) => {
          results.set(m.string(), {
            version: getGrayVersion(),
            seen: record(m.headers),
            relayed: record(grayNatsHeaders(lanes, m.headers)),
            single: m.headers?.get('x-gray-id'),
          });
          m.ack();
        }),
      });
      const mine = rows.filter((r) => r.trust === trust);
      for (const r of mine) {
        const h = headers();
        for (const [k, v] of r.pairs) h.append(k, v);
        await js.publish(subject, r.key, { headers: h });
      }
      await until(() => mine.every((r) => results.has(r.key)), 15_000);
      await messages.close();
      await jsm.streams.delete(stream);
    }
  } finally {
    await nc.close();
  }
  return results;
}

/** Kafka (no broker here): the record shapes kafkajs and the Confluent client deliver. */
async function kafkaRun(
  rows: readonly { key: string; trust: Trust; pairs: readonly Pair[] }[],
  shape: 'kafkajs' | 'confluent',
): Promise<Results> {
  const results = new Map<string, Got>();
  for (const r of rows) {
    const lanes = lanesByTrust()[r.trust];
    const got = (h: unknown): Got => ({
      version: getGrayVersion(),
      seen: merged(h),
      relayed: merged(grayKafkaMessage(lanes, { value: 'x', headers: h as never }).headers),
      single: Array.isArray(h) ? undefined : (h as Record<string, unknown>)['x-gray-id'],
    });
    if (shape === 'kafkajs') {
      const message = {
        headers: Object.fromEntries(r.pairs.map(([k, v]) => [k, Buffer.from(v)])),
      };
      const each = withGrayKafkaMessage(lanes, async ({ message: m }: EachMessagePayload) => {
        results.set(r.key, got(m.headers));
      });
      await each({ message } as unknown as EachMessagePayload);
    } else {
      const list = r.pairs.map(([k, v]) => ({ [k]: Buffer.from(v) }));
      runInKafkaMessage(lanes, { headers: list }, () => results.set(r.key, got(list)));
    }
  }
  return results;
}

/** A kafkajs object or a Confluent list as one record of name → values. */
function merged(h: unknown): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const entries = Array.isArray(h) ? (h as object[]).flatMap((e) => Object.entries(e)) : [];
  if (!Array.isArray(h) && typeof h === 'object' && h !== null) entries.push(...Object.entries(h));
  for (const [k, v] of entries) (out[k] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return out;
}

/** BullMQ: `__gray` among many other job-data keys, through a real Redis (controls: one field). */
async function bullRun(
  rows: readonly { key: string; trust: Trust; data: Record<string, unknown> }[],
): Promise<Results> {
  const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
  const results = new Map<string, Got>();
  for (const trust of TRUSTS) {
    const lanes = lanesByTrust()[trust];
    const name = fresh('encbull');
    const worker = new Worker(
      name,
      withGrayJob(lanes, async (job) => {
        const data = job.data as Record<string, unknown>;
        const marker = Object.hasOwn(data, '__gray') ? { 'x-gray-id': data['__gray'] } : {};
        results.set(String(data['key']), {
          version: getGrayVersion(),
          seen: marker,
          relayed: { 'x-gray-id': grayJobData(lanes, { ...data })['__gray'] },
          single: data['__gray'],
        });
      }),
      { connection, concurrency: 20 },
    );
    const queue = new Queue(name, { connection });
    try {
      const mine = rows.filter((r) => r.trust === trust);
      await queue.addBulk(mine.map((r) => ({ name: 'm', data: r.data })));
      await until(() => mine.every((r) => results.has(r.key)), 15_000);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }
  return results;
}

/** Runs `fn` once for all the rows of a group; each row then reads its own result. */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let run: Promise<T> | undefined;
  return () => (run ??= fn());
}

export function anywhereTests(): void {
  describe('GW-01 a marker anywhere in the header table: judged, and removed when refused', () => {
    const amqp = shared(() =>
      amqpRun(TABLE_ROWS.map((r) => ({ ...r, table: () => Object.fromEntries(r.pairs) }))),
    );
    const nats = shared(() => natsRun(TABLE_ROWS));
    const kafkajs = shared(() => kafkaRun(TABLE_ROWS, 'kafkajs'));
    const confluent = shared(() => kafkaRun(TABLE_ROWS, 'confluent'));
    const carriers = [
      ['amqp', amqp],
      ['nats', nats],
      ['kafkajs', kafkajs],
      ['confluent', confluent],
    ] as const;
    const rows = carriers.flatMap(([carrier, run]) =>
      TABLE_ROWS.map((r) => ({ ...r, carrier, run })),
    );
    it.each(rows)(
      'GW-01 $carrier $trust · $spelling.name · $position.name $tag',
      async ({ key, want, run }) => expectGot((await run()).get(key), want),
      60_000,
    );
  });

  describe('GW-01 BullMQ: __gray among thousands of job-data keys (controls: one own field)', () => {
    const values = [
      ['beta', { open: { version: 'beta', header: 'beta' }, signed: STABLE, ignore: STABLE }],
      [
        '<signed token>',
        { open: STABLE, signed: { version: 'beta', header: TOKEN }, ignore: STABLE },
      ],
    ] as const;
    const rows = TRUSTS.flatMap((trust) =>
      values.flatMap(([label, expect], v) =>
        POSITIONS.map((position, p) => {
          const key = `${trust}|${v}|${p}`;
          const junk = (n: number, from: number): [string, string][] =>
            Array.from({ length: n }, (_, i) => [`j${from + i}`, 'x']);
          const data = Object.fromEntries([
            ['key', key],
            ...junk(position.before, 0),
            ['__gray', label === 'beta' ? 'beta' : TOKEN],
            ...junk(position.after, position.before),
          ]) as Record<string, unknown>;
          return { key, trust, data, label, position, want: expect[trust] };
        }),
      ),
    );
    const run = shared(() => bullRun(rows));
    it.each(rows)(
      'GW-01 bullmq $trust · __gray: $label · $position.name (control)',
      async ({ key, want }) => expectGot((await run()).get(key), want),
      60_000,
    );
  });
}

const STABLE: Kept = { version: 'stable' };
