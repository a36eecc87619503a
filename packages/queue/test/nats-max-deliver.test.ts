// MQ-39..MQ-41 (review 62): NATS lane durables the app made or tuned itself, and setup() on a
// stream whose own subjects already cover the lanes.
// MQ-39 (D1): a message the lane durable gave up on (delivered its `max_deliver` times, never
// acked) is stored on the lane and pending for no one; the drain took it for one that came back
// after a crash lost its removal and ran it on the default lane. It now stays on the lane, for the
// app's own dead-letter handling, counted in `queueStats().maxDeliveriesLeft`; the lane's other
// messages still move.
// MQ-40 (D2): setup() added lane subjects a wildcard of the stream already covered, and the server
// refused the overlap with a raw JetStreamApiError; another refusal is an INVALID_OPTIONS error
// that says what to do.
// MQ-41 (N1): a lane durable that is a push consumer made consume() reject with the client's own
// error; now INVALID_OPTIONS, saying lane durables must be pull consumers.
// Real nats-server with JetStream on 127.0.0.1; routers on the `@nats-io/jetstream` v3 and `nats`
// v2 clients.
import { GraylaneError } from '@graylane/core';
import { runWithGray } from '@graylane/node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { connect as connectV2, headers as headersV2 } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, queueStats } from '../dist/index.js';
import { createNatsLanes, type NatsLaneConsumer, type NatsLanes } from '../dist/nats.js';
import { HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh, until } from './helpers.js';

const TUNING = { liveness: { intervalMs: 100, graceMs: 0 }, drainIntervalMs: 100 } as const;

let server: { url: string; stop(): Promise<void> } | undefined;
let admin: { nc: NatsConnection; jsm: JetStreamManager };
const connections: { close(): Promise<unknown> }[] = [];
const consumers: NatsLaneConsumer[] = [];
beforeAll(async () => {
  server = await startNats();
  const nc = await connect({ servers: server.url });
  admin = { nc, jsm: await jetstreamManager(nc) };
}, 30_000);
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
  await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  await admin?.nc.close();
  await server?.stop();
}, 30_000);

const url = (): string => (server as { url: string }).url;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lanes = createMessageLanes({ config: CONFIG });
type Client = 'v3' | 'v2';

async function router(
  stream: string,
  client: Client,
  extra: { onDrainError?: (err: unknown, lane: string) => void; subject?: string } = {},
): Promise<NatsLanes> {
  let js: object;
  let jsm: object;
  let create: object = {};
  if (client === 'v2') {
    const nc = await connectV2({ servers: url() });
    connections.push(nc);
    js = nc.jetstream();
    jsm = await nc.jetstreamManager();
    create = { headers: headersV2 };
  } else {
    const nc = await connect({ servers: url() });
    connections.push(nc);
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  }
  const options = { lanes, stream, subject: stream.toLowerCase(), ...TUNING, ...create, ...extra };
  return createNatsLanes({ ...options, js, jsm } as never) as NatsLanes;
}

type Msg = {
  string(): string;
  ack(): void;
  nak(delayMs?: number): void;
  headers?: { get(k: string): string };
};

async function consume(
  r: NatsLanes,
  lane: string,
  handler: (m: Msg) => void,
): Promise<NatsLaneConsumer> {
  const c = await r.consume(lane, handler as never);
  consumers.push(c);
  return c;
}

const laneInfo = (stream: string) => admin.jsm.consumers.info(stream, `${stream}_lane_beta`);

/** What is stored on `subject`, by direct get (data of each message). */
async function storedOn(stream: string, subject: string): Promise<string[]> {
  const out: string[] = [];
  for (let seq = 1; ;) {
    const query = { next_by_subj: subject, seq } as never;
    const m = await admin.jsm.streams.getMessage(stream, query).catch(() => null);
    if (m === null) return out;
    out.push(m.string());
    seq = m.seq + 1;
  }
}

describe('MQ-39 NATS: a message the lane durable gave up on (max_deliver) stays on its lane', () => {
  const rows = [
    { client: 'v3', maxDeliver: 1, backoff: undefined, poison: 1, others: 0 },
    { client: 'v3', maxDeliver: 3, backoff: [200, 400], poison: 1, others: 0 },
    { client: 'v3', maxDeliver: 3, backoff: undefined, poison: 3, others: 2 },
    { client: 'v3', maxDeliver: 2, backoff: undefined, poison: 2, others: 3 },
    { client: 'v2', maxDeliver: 1, backoff: undefined, poison: 1, others: 0 },
    { client: 'v2', maxDeliver: 3, backoff: [200, 400], poison: 2, others: 1 },
  ] as const;
  it.each(rows)(
    'MQ-39 $client, max_deliver $maxDeliver, backoff $backoff: $poison given up, $others delivered later',
    async ({ client, maxDeliver, backoff, poison, others }) => {
      const stream = fresh('MD');
      const subj = stream.toLowerCase();
      await admin.jsm.streams.add({
        name: stream,
        subjects: [subj, `${subj}.lane.beta`],
        retention: 'workqueue',
      } as never);
      await admin.jsm.consumers.add(stream, {
        durable_name: `${stream}_lane_beta`,
        filter_subject: `${subj}.lane.beta`,
        ack_policy: 'explicit',
        max_deliver: maxDeliver,
        ...(backoff !== undefined ? { backoff: backoff.map((ms) => ms * 1e6) } : {}),
      } as never);
      const r = await router(stream, client);
      await r.setup();
      const before = queueStats();
      const betaRuns: string[] = [];
      const beta = await consume(r, 'beta', (m) => {
        betaRuns.push(m.string());
        m.nak();
      });
      await until(async () => (await laneInfo(stream)).num_waiting > 0, 5_000);
      for (let i = 0; i < poison; i++) await runWithGray('beta', () => r.publish(`poison${i}`));
      // Every delivery spent, then dropped from the durable's pending by the server.
      await until(() => betaRuns.length === poison * maxDeliver, 8_000);
      await until(async () => (await laneInfo(stream)).num_ack_pending === 0, 8_000);
      await beta.close();
      await wait(300);
      expect(betaRuns.length).toBe(poison * maxDeliver);

      const stableRuns: { data: string; from: string | undefined }[] = [];
      await consume(r, 'stable', (m) => {
        stableRuns.push({ data: m.string(), from: m.headers?.get('x-graylane-drained-from') });
        m.ack();
      });
      // Published to the lane while it is dead: the drain moves these, never the given-up ones.
      const lane = `${subj}.lane.beta`;
      const h = headers();
      h.set(HEADER, 'beta');
      for (let i = 0; i < others; i++) {
        await jetstream(admin.nc).publish(lane, `other${i}`, { headers: h as never });
      }
      await until(() => stableRuns.length >= others, 8_000);
      await wait(2_500);
      expect(stableRuns.map((s) => s.data).sort()).toEqual(
        Array.from({ length: others }, (_, i) => `other${i}`),
      );
      expect((await storedOn(stream, lane)).sort()).toEqual(
        Array.from({ length: poison }, (_, i) => `poison${i}`),
      );
      expect(queueStats().maxDeliveriesLeft - before.maxDeliveriesLeft).toBe(poison);
      expect(queueStats().drained - before.drained).toBe(others);
    },
    40_000,
  );
});

describe('MQ-40 NATS: setup() on a stream whose subjects already cover the lane subjects', () => {
  // The base subject is `P.q` (`P` is unique to the row, so no other stream overlaps).
  const rows = [
    { shape: 'P.q.lane.>', have: ['P.q', 'P.q.lane.>'], added: [] },
    { shape: 'P.q.>', have: ['P.q', 'P.q.>'], added: [] },
    { shape: 'P.> (covers the base too)', have: ['P.>'], added: [] },
    { shape: 'P.*.lane.beta', have: ['P.q', 'P.*.lane.beta'], added: [] },
    { shape: 'P.q.*.beta', have: ['P.q', 'P.q.*.beta'], added: [] },
    { shape: 'P.q.lane.*', have: ['P.q', 'P.q.lane.*'], added: [] },
    { shape: 'P.*.*.*', have: ['P.q', 'P.*.*.*'], added: [] },
    { shape: 'P.*.> (not the base)', have: ['P.*.>'], added: ['P.q'] },
    { shape: 'exact lane + P.* (the base)', have: ['P.q.lane.beta', 'P.*'], added: [] },
    { shape: 'P.q.lane.> without the base', have: ['P.q.lane.>'], added: ['P.q'] },
    {
      shape: 'P.q.lane.beta.> (no cover) + P.*',
      have: ['P.q.lane.beta.>', 'P.*'],
      added: ['P.q.lane.beta'],
    },
  ] as const;
  it.each(rows)('MQ-40 subjects $shape: setup() adds $added', async ({ have, added }) => {
    for (const client of ['v3', 'v2'] as const) {
      const stream = fresh('WS');
      const p = stream.toLowerCase();
      const subjects = have.map((s) => s.replace('P', p));
      await admin.jsm.streams.add({ name: stream, subjects, retention: 'workqueue' } as never);
      const r = await router(stream, client, { subject: `${p}.q` });
      await r.setup();
      const after = (await admin.jsm.streams.info(stream)).config.subjects;
      expect(after).toEqual([...subjects, ...added.map((s) => s.replace('P', p))]);
      await laneInfo(stream);
      await admin.jsm.streams.delete(stream);
    }
  });

  it.each(['v3', 'v2'] as const)(
    'MQ-40 %s: another stream captures the lane subjects: INVALID_OPTIONS saying what to do',
    async (client) => {
      const stream = fresh('WR');
      const subj = `${stream.toLowerCase()}.q`;
      await admin.jsm.streams.add({
        name: `${stream}_OTHER`,
        subjects: [`${subj}.lane.*`],
      } as never);
      await admin.jsm.streams.add({
        name: stream,
        subjects: [subj],
        retention: 'workqueue',
      } as never);
      const r = await router(stream, client, { subject: subj });
      const err = await r.setup().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GraylaneError);
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
      expect((err as Error).message).toMatch(/no other stream of the account captures them/);
      expect((await admin.jsm.streams.info(stream)).config.subjects).toEqual([subj]);
    },
  );
});

describe('MQ-41 NATS: a lane durable that is a push consumer', () => {
  const rows = [
    { client: 'v3', lane: 'beta' },
    { client: 'v2', lane: 'beta' },
    { client: 'v3', lane: 'stable' },
    { client: 'v2', lane: 'stable' },
  ] as const;
  it.each(rows)(
    'MQ-41 $client: consume($lane) rejects with INVALID_OPTIONS naming pull consumers',
    async ({ client, lane }) => {
      const stream = fresh('PU');
      const subj = stream.toLowerCase();
      await admin.jsm.streams.add({
        name: stream,
        subjects: [subj, `${subj}.lane.beta`],
        retention: 'workqueue',
      } as never);
      const durable = lane === 'stable' ? stream : `${stream}_lane_beta`;
      await admin.jsm.consumers.add(stream, {
        durable_name: durable,
        deliver_subject: `push.${stream}`,
        filter_subject: lane === 'stable' ? subj : `${subj}.lane.beta`,
        ack_policy: 'explicit',
      } as never);
      const r = await router(stream, client);
      await r.setup();
      const err = await r.consume(lane, (() => undefined) as never).then(
        (c) => {
          consumers.push(c);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(GraylaneError);
      expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
      expect((err as Error).message).toMatch(/lane durables must be pull consumers/);
    },
  );

  it.each(['v3', 'v2'] as const)(
    "MQ-41 %s: the default lane's drain reports a push lane durable as INVALID_OPTIONS",
    async (client) => {
      const stream = fresh('PD');
      const subj = stream.toLowerCase();
      await admin.jsm.streams.add({
        name: stream,
        subjects: [subj, `${subj}.lane.beta`],
        retention: 'workqueue',
      } as never);
      await admin.jsm.consumers.add(stream, {
        durable_name: `${stream}_lane_beta`,
        deliver_subject: `push.${stream}`,
        filter_subject: `${subj}.lane.beta`,
        ack_policy: 'explicit',
      } as never);
      const errors: unknown[] = [];
      const r = await router(stream, client, { onDrainError: (e) => errors.push(e) });
      await r.setup();
      await consume(r, 'stable', (m) => m.ack());
      const h = headers();
      h.set(HEADER, 'beta');
      await jetstream(admin.nc).publish(`${subj}.lane.beta`, 'm', { headers: h as never });
      await until(() => errors.length > 0, 8_000);
      expect(errors[0]).toBeInstanceOf(GraylaneError);
      expect((errors[0] as Error).message).toMatch(/lane durables must be pull consumers/);
    },
  );
});
