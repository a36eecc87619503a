// MQ-20 (review 149 D4): RabbitMQ sender-selected distribution (`CC`/`BCC`). The broker counts a
// message as routed when any queue took it, a CC copy included: `publish()` refuses CC/BCC
// (INVALID_OPTIONS, nothing sent) rather than resolve for a message its lane or base queue never
// got; the drain and its give-backs never copy a message to its CC queues again. One RabbitMQ
// node for the file; rows run concurrently, each on its own queues.
import { getGrayVersion, runWithGray } from '@graylane/node';
import { isGraylaneError } from '@graylane/core';
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createAmqpLanes } from '../dist/amqp.js';
import { HEADER } from './adversarial.js';
import {
  AMQP_QUEUE_TYPES,
  FAST_DRAIN_MS,
  FAST_TUNING,
  useRabbitConnection,
} from './brokers/amqp-driver.js';
import { CONFIG, fresh, until } from './helpers.js';

vi.setConfig({ maxConcurrency: 12 });

const rabbit = useRabbitConnection();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A router on fresh queues, an audit queue for the copies, and a channel to look with. */
async function world(queueOptions: Options.AssertQueue = { durable: false }) {
  const { connection } = await rabbit();
  const queue = fresh('cc');
  const audit = [`${queue}.audit`, `${queue}.audit2`] as const;
  const admin = await connection.createConfirmChannel();
  admin.on('error', () => undefined);
  for (const q of audit) await admin.assertQueue(q, { durable: false });
  const router = createAmqpLanes({
    lanes: createMessageLanes({ config: CONFIG }),
    connection,
    queue,
    queueOptions,
    ...FAST_TUNING,
  });
  await router.setup();
  const count = async (q: string) => (await admin.checkQueue(q)).messageCount;
  const done = async () => {
    await router.close();
    for (const q of [queue, `${queue}.lane.beta`, ...audit]) await admin.deleteQueue(q);
    await admin.close();
  };
  return { connection, queue, lane: `${queue}.lane.beta`, audit, admin, router, count, done };
}

/** Publish options naming the audit queues for CC/BCC, in every shape amqplib accepts. */
type Shape = (audit: readonly [string, string], queue: string) => Options.Publish;
const REFUSED: readonly (readonly [string, Shape])[] = [
  ['CC: a string', (a) => ({ CC: a[0] })],
  ['CC: a list', (a) => ({ CC: [a[0]] })],
  ['CC: two queues', (a) => ({ CC: [a[0], a[1]] })],
  ['BCC: a string', (a) => ({ BCC: a[0] })],
  ['BCC: a list', (a) => ({ BCC: [a[0]] })],
  ['CC and BCC', (a) => ({ CC: [a[0]], BCC: [a[1]] })],
  ['headers.CC (what amqplib sends for CC)', (a) => ({ headers: { CC: [a[0]] } })],
  ['headers.BCC', (a) => ({ headers: { BCC: [a[0]] } })],
  [
    'headers.CC beside the caller-set marker',
    (a) => ({ headers: { [HEADER]: 'beta', CC: [a[0]] } }),
  ],
  ['CC with other properties', (a) => ({ persistent: true, messageId: 'm1', CC: [a[0]] })],
  ['CC naming a queue that does not exist', () => ({ CC: ['no-such-queue'] })],
  ['CC naming the base queue itself', (_a, q) => ({ CC: [q] })],
  ['CC: an empty list beside a BCC', (a) => ({ CC: [], BCC: [a[0]] })],
];
/** Shapes that route nowhere else: accepted, the message reaches its queue only. */
const ACCEPTED: readonly (readonly [string, Shape])[] = [
  // What JS callers pass (a spread of optional fields); the type forbids it under exactOptionalPropertyTypes.
  ['CC: undefined', () => ({ CC: undefined }) as unknown as Options.Publish],
  ['CC: an empty list', () => ({ CC: [] })],
  ['BCC: an empty list', () => ({ BCC: [] })],
  ['headers.CC: an empty list', () => ({ headers: { CC: [] } })],
  // Header names are case-sensitive in AMQP tables; RabbitMQ routes on `CC`/`BCC` only.
  ['headers.cc (lower case: not sender routing)', (a) => ({ headers: { cc: [a[0]] } })],
];
/** Where the message is published from, and what state its queues are in. */
const SETUPS = [
  ['default lane, base queue there', 'stable', 'base'],
  ['default lane, base queue deleted', 'stable', 'no-base'],
  ['lane beta live, its queue there', 'beta', 'base'],
  ['lane beta live, its queue deleted', 'beta', 'no-lane'],
  ['lane beta dead (to the base queue)', 'beta', 'dead'],
] as const;

describe.concurrent('MQ-20 RabbitMQ: publish() and CC/BCC', () => {
  it.each(
    SETUPS.flatMap(([s, v, st]) => REFUSED.map(([n, shape]) => [n, s, v, st, shape] as const)),
  )(
    'MQ-20 publish() with %s (%s) is refused with INVALID_OPTIONS; nothing reaches any queue',
    async (_n, _s, version, state, shape) => {
      const w = await world();
      let beta: { close(): Promise<void> } | undefined;
      if (version === 'beta' && state !== 'dead') {
        beta = await w.router.consume('beta', (m, ch) => ch.ack(m));
      }
      if (state === 'no-base') await w.admin.deleteQueue(w.queue);
      if (state === 'no-lane') await w.admin.deleteQueue(w.lane);
      const err = await runWithGray(version, () =>
        w.router.publish(Buffer.from('x'), shape(w.audit, w.queue)),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isGraylaneError(err) && err.code).toBe('INVALID_OPTIONS');
      expect(String((err as Error).message)).toMatch(/\b(CC|BCC)\b.*not supported/);
      // Refused before anything was sent: no copy anywhere.
      await w.admin.waitForConfirms();
      for (const q of w.audit) expect(await w.count(q)).toBe(0);
      if (state !== 'no-base') expect(await w.count(w.queue)).toBe(0);
      if (state !== 'no-lane') expect(await w.count(w.lane)).toBe(0);
      await beta?.close();
      if (state === 'no-base') await w.admin.assertQueue(w.queue, { durable: false });
      if (state === 'no-lane') await w.admin.assertQueue(w.lane, { durable: false });
      await w.done();
    },
  );

  it.each(
    SETUPS.flatMap(([s, v, st]) => ACCEPTED.map(([n, shape]) => [n, s, v, st, shape] as const)),
  )(
    'MQ-20 control: publish() with %s (%s) keeps its promise: resolves once its queue took it, rejects UNROUTABLE when none did',
    async (_n, _s, version, state, shape) => {
      const w = await world();
      let beta: { close(): Promise<void> } | undefined;
      if (version === 'beta' && state !== 'dead') {
        beta = await w.router.consume('beta', () => undefined);
      }
      if (state === 'no-base') await w.admin.deleteQueue(w.queue);
      if (state === 'no-lane') await w.admin.deleteQueue(w.lane);
      const sent = runWithGray(version, () =>
        w.router.publish(Buffer.from('x'), shape(w.audit, w.queue)),
      );
      if (state === 'no-base') {
        const err = await sent.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isGraylaneError(err) && err.code).toBe('UNROUTABLE');
        await w.admin.assertQueue(w.queue, { durable: false });
      } else {
        await sent;
        // beta live and its queue there: the beta consumer holds it unacked (not counted).
        const target = version === 'beta' && state === 'base' ? undefined : w.queue;
        if (target !== undefined) expect(await w.count(target)).toBe(1);
      }
      for (const q of w.audit) expect(await w.count(q)).toBe(0);
      await beta?.close();
      if (state === 'no-lane') await w.admin.assertQueue(w.lane, { durable: false });
      await w.done();
    },
  );
});

/** How a message carrying CC/BCC got onto a lane queue (an older release, another producer). */
const STRANDED: readonly (readonly [string, Shape, number])[] = [
  // name, shape, copies the audit queues hold once it was sent (before any drain)
  ['CC: one queue', (a) => ({ CC: [a[0]] }), 1],
  ['CC: two queues', (a) => ({ CC: [a[0], a[1]] }), 2],
  ['CC as a header', (a) => ({ headers: { CC: [a[0]] } }), 1],
  ['CC and BCC', (a) => ({ CC: [a[0]], BCC: [a[1]] }), 2],
  // The broker removes BCC from what it delivers: nothing to copy again (a control).
  ['BCC only (control)', (a) => ({ BCC: [a[0]] }), 1],
];

describe.concurrent(
  'MQ-20 RabbitMQ: the drain never copies a message to its CC queues again',
  () => {
    describe.each(AMQP_QUEUE_TYPES)('%s lane queues', (_type, queueOptions) => {
      it.each(STRANDED)(
        'MQ-20 a lane message with %s drained to the base queue: processed once in its lane, its CC queues keep one copy each, no CC header travels on',
        async (_n, shape, copies) => {
          const w = await world(queueOptions);
          await sendRaw(w.admin, w.lane, shape(w.audit, w.queue));
          expect((await w.count(w.audit[0])) + (await w.count(w.audit[1]))).toBe(copies);
          const seen: { version: string | undefined; headers: Record<string, unknown> }[] = [];
          const stable = await w.router.consume('stable', (m: ConsumeMessage, ch: Channel) => {
            seen.push({ version: getGrayVersion(), headers: { ...m.properties.headers } });
            ch.ack(m);
          });
          await until(() => seen.length === 1);
          await sleep(FAST_DRAIN_MS * 8);
          expect(seen).toHaveLength(1);
          expect(seen[0]?.version).toBe('beta');
          expect(seen[0]?.headers).not.toHaveProperty('CC');
          expect(seen[0]?.headers).not.toHaveProperty('BCC');
          expect((await w.count(w.audit[0])) + (await w.count(w.audit[1]))).toBe(copies);
          await stable.close();
          await w.done();
        },
      );

      it.each(STRANDED)(
        'MQ-20 a lane message with %s that the base queue refuses (full, reject-publish) stays on its lane, and its give-backs never copy it again',
        async (_n, shape, copies) => {
          const { connection } = await rabbit();
          const queue = fresh('ccfull');
          const admin = await connection.createConfirmChannel();
          admin.on('error', () => undefined);
          const audit = [`${queue}.audit`, `${queue}.audit2`] as const;
          for (const q of audit) await admin.assertQueue(q, { durable: false });
          // The base queue takes nothing; the lane queue as the router declares it.
          await admin.assertQueue(queue, {
            durable: false,
            arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
          });
          await admin.assertQueue(`${queue}.lane.beta`, queueOptions);
          await sendRaw(admin, `${queue}.lane.beta`, shape(audit, queue));
          const router = createAmqpLanes({
            lanes: createMessageLanes({ config: CONFIG }),
            connection,
            queue,
            queueOptions,
            ...FAST_TUNING,
          });
          const stable = await router.consume('stable', (m, ch) => ch.ack(m));
          const count = async (q: string) => (await admin.checkQueue(q)).messageCount;
          // Many drain ticks, each one taking it and giving it back.
          await sleep(FAST_DRAIN_MS * 24);
          await stable.close();
          await until(async () => (await count(`${queue}.lane.beta`)) === 1);
          expect((await count(audit[0])) + (await count(audit[1]))).toBe(copies);
          await router.close();
          for (const q of [queue, `${queue}.lane.beta`, ...audit]) await admin.deleteQueue(q);
          await admin.close();
        },
      );
    });
  },
);

async function sendRaw(admin: Channel, lane: string, options: Options.Publish): Promise<void> {
  const headers = { [HEADER]: 'beta', ...(options.headers as Record<string, unknown>) };
  admin.sendToQueue(lane, Buffer.from('stranded'), { ...options, headers });
  await (admin as unknown as { waitForConfirms(): Promise<void> }).waitForConfirms();
}
