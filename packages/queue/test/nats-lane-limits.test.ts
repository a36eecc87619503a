// MQ-34..MQ-36, MQ-38 (review 60): the NATS drain against the stream's own limits.
// MQ-34 (D1): a lane message near the size limit fit as stored, but not once the drain added its
// headers (`Nats-Msg-Id`, `x-graylane-drained-from`): its republish failed, the whole batch was
// nak'd, redelivered first, and every later pass stopped on it — the lane's other messages never
// moved. The drain now moves what it can, drops the optional header, runs a message no
// de-duplicated copy fits in the default lane's own handler (or, read by direct get, leaves it
// and reports it); the router refuses a lane message whose drained copy could never fit.
// MQ-35 (D2): the drain's hand-back was a nak, which spent the lane durable's delivery attempts
// (`max_deliver: 1`: never delivered again) and reached beta as redelivered.
// MQ-36 (D3): setup() updated an existing lane durable to the defaults (ack_wait, max_deliver…).
// MQ-38 (N2): a drain failing on every pass reported nothing.
// Real nats-server with JetStream on 127.0.0.1; routers on the `@nats-io/jetstream` v3 and `nats`
// v2 clients.
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import { connect as connectV2, headers as headersV2 } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, queueStats } from '../dist/index.js';
import { createNatsLanes, type NatsLaneConsumer, type NatsLanes } from '../dist/nats.js';
import { HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh, until } from './helpers.js';

const TUNING = { liveness: { intervalMs: 100, graceMs: 0 }, drainIntervalMs: 100 } as const;
const ROW_TIMEOUT_MS = 8_000;

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
const laneOf = (stream: string): string => `${stream.toLowerCase()}.lane.beta`;

interface Hooks {
  /** Runs before each publish of a drained copy (msgID `graylane-drain-…`); may throw. */
  onMove?: () => Promise<void> | void;
  /** Runs once, after the drain's first pull came back (before it asks whether the lane is back). */
  afterFirstPull?: () => Promise<void>;
}

/** A router on its own connection, optionally with hooks in the drain's publish and pull. */
async function router(
  stream: string,
  client: Client,
  extra: Hooks & { onDrainError?: (err: unknown, lane: string) => void; drainBatch?: number } = {},
): Promise<{ r: NatsLanes; maxPayload: number }> {
  let js: object;
  let jsm: object;
  let create: object = {};
  let maxPayload: number;
  if (client === 'v2') {
    const nc = await connectV2({ servers: url() });
    connections.push(nc);
    js = nc.jetstream();
    jsm = await nc.jetstreamManager();
    create = { headers: headersV2 };
    maxPayload = nc.info?.max_payload ?? 0;
  } else {
    const nc = await connect({ servers: url() });
    connections.push(nc);
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    maxPayload = nc.info?.max_payload ?? 0;
  }
  js = hooked(js, extra);
  const { onMove, afterFirstPull, ...rest } = extra;
  void onMove;
  void afterFirstPull;
  const options = { lanes, stream, subject: stream.toLowerCase(), ...TUNING, ...create, ...rest };
  return { r: createNatsLanes({ ...options, js, jsm } as never) as NatsLanes, maxPayload };
}

/** Binds every method of `target` to it, and replaces the ones `overrides` names. */
function proxy<T extends object>(target: T, overrides: Record<string, unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(t) : value;
    },
  });
}

function hooked(js: object, hooks: Hooks): object {
  const j = js as {
    publish(...a: unknown[]): Promise<unknown>;
    consumers: { get(...a: unknown[]): Promise<object> };
  };
  let pulled = false;
  return proxy(js, {
    publish: async (subject: string, data: unknown, opts?: { msgID?: string }) => {
      if (opts?.msgID?.startsWith('graylane-drain-') === true) await hooks.onMove?.();
      return j.publish(subject, data, opts);
    },
    consumers: proxy(j.consumers, {
      get: async (...a: unknown[]) => {
        const c = (await j.consumers.get(...a)) as { fetch(o: unknown): Promise<unknown> };
        return proxy(c, {
          fetch: async (o: unknown) => {
            const messages = (await c.fetch(o)) as AsyncIterable<unknown>;
            if (pulled || hooks.afterFirstPull === undefined) return messages;
            pulled = true;
            // The drain holds the batch (its first message is here, the rest on the way) when
            // the lane's consumer comes back.
            const it = messages[Symbol.asyncIterator]();
            const first = await it.next();
            await wait(200);
            await hooks.afterFirstPull();
            let gave = false;
            const next = () => (gave ? it.next() : ((gave = true), Promise.resolve(first)));
            const done = (v?: unknown) =>
              it.return?.(v) ?? Promise.resolve({ done: true, value: v });
            return { [Symbol.asyncIterator]: () => ({ next, return: done }) };
          },
        });
      },
    }),
  });
}

/** The stream and both durables as an app made them (beta's with its own settings). */
async function makeLanes(stream: string, beta: object = {}, limits: object = {}): Promise<void> {
  const base = stream.toLowerCase();
  await admin.jsm.streams.add({
    name: stream,
    subjects: [base, laneOf(stream)],
    retention: 'workqueue',
    ...limits,
  } as never);
  const durable = (name: string, subject: string, more: object) =>
    admin.jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: subject,
      ack_policy: 'explicit',
      ...more,
    } as never);
  await durable(stream, base, {});
  await durable(`${stream}_lane_beta`, laneOf(stream), beta);
}

/** Publishes `data` to beta's subject with a beta marker, as a router did while beta was alive. */
async function toLane(stream: string, data: string | Uint8Array): Promise<number> {
  const h = headers();
  h.set(HEADER, 'beta');
  return (await jetstream(admin.nc).publish(laneOf(stream), data, { headers: h })).seq;
}

const stored = async (stream: string): Promise<number> =>
  (await admin.jsm.streams.info(stream)).state.messages;

interface Run {
  readonly id: string;
  readonly consumer: string;
  readonly version: string;
  readonly drainedFrom: string | undefined;
  readonly redelivered: boolean;
  readonly deliveries: number;
}

type Msg = {
  string(): string;
  ack(): void;
  redelivered: boolean;
  headers?: { get(k: string): string };
  info: { deliveryCount?: number; redeliveryCount?: number };
};
const recorder =
  (runs: Run[], consumer: string) =>
  (m: Msg): void => {
    const text = m.string();
    runs.push({
      id: text.startsWith('B') ? `big${text.length}` : text,
      consumer,
      version: getGrayVersion(),
      drainedFrom: m.headers?.get('x-graylane-drained-from') || undefined,
      redelivered: m.redelivered,
      deliveries: m.info.deliveryCount ?? m.info.redeliveryCount ?? 0,
    });
    m.ack();
  };

async function consume(r: NatsLanes, lane: string, runs: Run[]): Promise<NatsLaneConsumer> {
  const c = await r.consume(lane, recorder(runs, lane) as never);
  consumers.push(c);
  return c;
}

/** Bytes a header line adds (`\r\n<name>: <value>`), and the header block itself. */
const line = (name: string, value: string): number =>
  4 + Buffer.byteLength(name) + Buffer.byteLength(value);
const BLOCK = 12;
/** The header block of a message carrying only the beta marker. */
const MARKED = BLOCK + line(HEADER, 'beta');

describe('MQ-34 NATS: a lane message too large for the drain never strands the messages behind it', () => {
  // Where the limit comes from, how close to it the message is (as stored it fits; with the
  // drain's `x-graylane-drained-from` it does not / with no `Nats-Msg-Id` either), how the drain
  // reads the lane (pulled through beta's durable, or by direct get with the durable deleted).
  const LIMITS = [
    { limit: 'max_msg_size 4096', maxMsgSize: 4096 },
    { limit: 'max_payload', maxMsgSize: undefined },
  ] as const;
  const FITS = ['without x-graylane-drained-from', 'with no Nats-Msg-Id'] as const;
  const rows = LIMITS.flatMap((l) =>
    FITS.flatMap((fits) =>
      (['pull', 'direct get'] as const).flatMap((path) =>
        (['v3', 'v2'] as const).map((client) => ({ ...l, fits, path, client, small: 12 })),
      ),
    ),
  ).filter((r) => r.client === 'v3' || r.limit === 'max_payload');

  it.each(rows)(
    'MQ-34 $limit, fits $fits, $path, drain on $client: the $small messages behind it move',
    async ({ maxMsgSize, fits, path, client, small }) => {
      const stream = fresh('BIG');
      await makeLanes(stream, {}, maxMsgSize === undefined ? {} : { max_msg_size: maxMsgSize });
      const errors: { err: unknown; lane: string }[] = [];
      const drainErrors = queueStats().drainErrors;
      const { r, maxPayload } = await router(stream, client, {
        onDrainError: (err, lane) => errors.push({ err, lane }),
      });
      const limit = maxMsgSize ?? maxPayload;
      const id = `graylane-drain-${stream}-1`;
      // As stored it fits with bytes to spare; the drain's copy adds a Nats-Msg-Id and (optional)
      // the lane it came from.
      const spare = fits === 'with no Nats-Msg-Id' ? 5 : line('Nats-Msg-Id', id) + 5;
      const big = 'B'.repeat(limit - MARKED - spare);
      expect(await toLane(stream, big)).toBe(1);
      const ids = Array.from({ length: small }, (_, i) => `s-${i}`);
      for (const i of ids) await toLane(stream, i);
      if (path === 'direct get') await admin.jsm.consumers.delete(stream, `${stream}_lane_beta`);
      const runs: Run[] = [];
      await consume(r, 'stable', runs);

      const bigRuns = fits === 'with no Nats-Msg-Id' && path === 'direct get' ? 0 : 1;
      const done = () =>
        ids.every((i) => runs.some((x) => x.id === i)) && runs.length >= small + bigRuns;
      await until(done, ROW_TIMEOUT_MS).catch(() => undefined);
      await wait(400);
      expect(ids.filter((i) => !runs.some((x) => x.id === i))).toEqual([]);
      expect(runs.filter((x) => x.id.startsWith('s-'))).toHaveLength(small);
      expect(runs.every((x) => x.version === 'beta' && x.consumer === 'stable')).toBe(true);
      const bigs = runs.filter((x) => x.id.startsWith('big'));
      expect(bigs).toHaveLength(bigRuns);
      expect(await stored(stream)).toBe(1 - bigRuns);
      // The smaller messages keep every header; the big one without the optional one.
      expect(
        runs.filter((x) => x.id.startsWith('s-')).every((x) => x.drainedFrom === laneOf(stream)),
      ).toBe(true);
      expect(bigs.every((x) => x.drainedFrom === undefined)).toBe(true);
      if (fits === 'with no Nats-Msg-Id') {
        expect(errors).toHaveLength(1);
        expect(errors[0]?.lane).toBe('beta');
        expect(String((errors[0]?.err as Error).message)).toMatch(
          /message 1 of lane "beta".*too large/,
        );
        expect(queueStats().drainErrors).toBe(drainErrors + 1);
      } else {
        expect(errors).toEqual([]);
      }
    },
    ROW_TIMEOUT_MS + 5_000,
  );
});

describe('MQ-34 NATS: the router refuses a lane message whose drained copy could never fit', () => {
  const rows = [
    { limit: 'max_msg_size 4096', maxMsgSize: 4096, client: 'v3' },
    { limit: 'max_msg_size 4096', maxMsgSize: 4096, client: 'v2' },
    { limit: 'max_msg_size 70000', maxMsgSize: 70_000, client: 'v3' },
    { limit: 'max_payload', maxMsgSize: undefined, client: 'v3' },
    { limit: 'max_payload', maxMsgSize: undefined, client: 'v2' },
  ] as const;
  it.each(rows)(
    'MQ-34 $limit, router on $client: one byte over the bound is refused, the bound is routed and drains',
    async ({ maxMsgSize, client }) => {
      const stream = fresh('REF');
      // MQ-42: a message delivered to the beta consumer closed below moves after ack_wait.
      await makeLanes(
        stream,
        { ack_wait: 2e9 },
        maxMsgSize === undefined ? {} : { max_msg_size: maxMsgSize },
      );
      const beta = await router(stream, 'v3');
      const betaRuns: Run[] = [];
      const betaConsumer = await consume(beta.r, 'beta', betaRuns);
      const { r, maxPayload } = await router(stream, client);
      await until(() => r.liveness.recheck('beta'), 5_000);
      const limit = maxMsgSize ?? maxPayload;
      const overhead = Math.max(
        line('Nats-Msg-Id', `graylane-drain-${stream}-${'9'.repeat(20)}`) +
          line('x-graylane-drained-from', laneOf(stream)),
        line('Nats-Msg-Id', `graylane-handback-${stream}-${'9'.repeat(20)}-${'9'.repeat(20)}`),
      );
      const bound = limit - MARKED - overhead;
      const h = (client === 'v2' ? headersV2 : headers)();
      h.set(HEADER, 'beta');
      for (const over of [1, 2, 64]) {
        for (const data of ['B'.repeat(bound + over), new Uint8Array(bound + over).fill(66)]) {
          await expect(r.publish(data, { headers: h as never })).rejects.toMatchObject({
            code: 'INVALID_OPTIONS',
            message: expect.stringMatching(/could not be moved off that lane/),
          });
        }
      }
      expect(await stored(stream)).toBe(0);
      // Multi-byte characters count as bytes.
      await expect(
        r.publish('é'.repeat(Math.ceil((bound + 1) / 2)), { headers: h as never }),
      ).rejects.toThrow(/could not be moved/);
      await r.publish('B'.repeat(bound), { headers: h as never });
      await until(() => betaRuns.length === 1, 5_000);
      expect(betaRuns[0]?.id).toBe(`big${bound}`);
      // At the bound, a message the lane kept after its consumer stopped is moved with every header.
      await betaConsumer.close();
      await toLane(stream, 'B'.repeat(bound));
      const runs: Run[] = [];
      await consume((await router(stream, client)).r, 'stable', runs);
      await until(() => runs.length === 1, ROW_TIMEOUT_MS);
      expect(runs[0]).toMatchObject({
        id: `big${bound}`,
        version: 'beta',
        drainedFrom: laneOf(stream),
      });
      // To the base subject (no lane) the same message goes: nothing to drain.
      await r.publish('B'.repeat(bound + 64));
      await until(() => runs.length === 2, 5_000);
    },
    25_000,
  );
});

describe("MQ-35 NATS: the drain hands a batch back without spending the lane durable's deliveries", () => {
  // How the batch is handed back: beta back between the drain's pull and its second look, or the
  // base subject refusing the drain's publishes for several passes; the durable's max_deliver.
  const rows = [
    { how: 'beta back mid-batch', maxDeliver: 1, client: 'v3' },
    { how: 'beta back mid-batch', maxDeliver: 2, client: 'v2' },
    { how: 'beta back mid-batch', maxDeliver: undefined, client: 'v3' },
    { how: 'base subject refusing 3 passes', maxDeliver: 1, client: 'v3' },
    { how: 'base subject refusing 3 passes', maxDeliver: 3, client: 'v3' },
    { how: 'base subject refusing 3 passes', maxDeliver: undefined, client: 'v2' },
  ] as const;
  it.each(rows)(
    'MQ-35 $how, max_deliver $maxDeliver, drain on $client: each message runs once on beta, first delivery',
    async ({ how, maxDeliver, client }) => {
      const stream = fresh('HB');
      await makeLanes(stream, maxDeliver === undefined ? {} : { max_deliver: maxDeliver });
      const ids = Array.from({ length: 30 }, (_, i) => `m-${i}`);
      for (const i of ids) await toLane(stream, i);
      const runs: Run[] = [];
      let refused = 0;
      const back = async () => {
        await consume((await router(stream, 'v3')).r, 'beta', runs);
        await wait(300);
      };
      const hooks: Hooks =
        how === 'beta back mid-batch'
          ? { afterFirstPull: back }
          : {
              onMove: () => {
                if (refused >= 0) throw new Error(`base subject refused (${++refused})`);
              },
            };
      const { r } = await router(stream, client, { ...hooks, drainBatch: 50 });
      const stable = await consume(r, 'stable', runs);
      if (how !== 'beta back mid-batch') {
        await until(() => refused >= 3, 3_000).catch(() => undefined);
        await stable.close();
        refused = -1;
        await back();
      }
      await until(() => ids.every((i) => runs.some((x) => x.id === i)), ROW_TIMEOUT_MS).catch(
        () => undefined,
      );
      await wait(300);
      expect(ids.filter((i) => !runs.some((x) => x.id === i))).toEqual([]);
      expect(runs).toHaveLength(ids.length);
      expect(runs.filter((x) => x.consumer !== 'beta')).toEqual([]);
      expect(runs.filter((x) => x.redelivered || x.deliveries !== 1)).toEqual([]);
      expect(await stored(stream)).toBe(0);
    },
    ROW_TIMEOUT_MS + 5_000,
  );
});

describe('MQ-36 NATS setup(): an existing lane durable is never changed', () => {
  const CUSTOM = [
    {
      what: 'ack_wait 120 s, max_deliver 5, max_ack_pending 10',
      config: { ack_wait: 120e9, max_deliver: 5, max_ack_pending: 10 },
    },
    { what: 'ack_wait 3 s', config: { ack_wait: 3e9 } },
    { what: 'max_deliver 1 and a description', config: { max_deliver: 1, description: 'the app' } },
    { what: 'max_ack_pending 1, max_waiting 16', config: { max_ack_pending: 1, max_waiting: 16 } },
  ] as const;
  const rows = CUSTOM.flatMap((c) => (['v3', 'v2'] as const).map((client) => ({ ...c, client })));
  const pick = (c: Record<string, unknown>, keys: readonly string[]) =>
    Object.fromEntries(keys.map((k) => [k, c[k]]));

  it.each(rows)(
    'MQ-36 beta durable with $what, setup() on $client twice: kept',
    async ({ config, client }) => {
      const stream = fresh('SET');
      const base = stream.toLowerCase();
      await admin.jsm.streams.add({
        name: stream,
        subjects: [base, laneOf(stream)],
        retention: 'workqueue',
      } as never);
      const durable = `${stream}_lane_beta`;
      await admin.jsm.consumers.add(stream, {
        durable_name: durable,
        filter_subject: laneOf(stream),
        ack_policy: 'explicit',
        ...config,
      } as never);
      const keys = ['ack_wait', 'max_deliver', 'max_ack_pending', 'max_waiting', 'description'];
      const before = pick((await admin.jsm.consumers.info(stream, durable)).config as never, keys);
      const { r } = await router(stream, client);
      await r.setup();
      await r.setup();
      expect(pick((await admin.jsm.consumers.info(stream, durable)).config as never, keys)).toEqual(
        before,
      );
      // The missing one is made.
      expect((await admin.jsm.consumers.info(stream, stream)).config.filter_subject).toBe(base);
    },
  );

  it('MQ-36 control: 6 routers (v3 and v2) run setup() at once on a new stream: one stream, two durables', async () => {
    const stream = fresh('SETN');
    const routers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => router(stream, i % 2 === 0 ? 'v3' : 'v2')),
    );
    const results = await Promise.allSettled(routers.map(({ r }) => r.setup()));
    // Two routers may both find no stream and both create it: the server takes the same config once.
    expect(results.filter((x) => x.status === 'rejected')).toEqual([]);
    const names: string[] = [];
    for await (const c of admin.jsm.consumers.list(stream)) names.push(c.name);
    expect(names.sort()).toEqual([stream, `${stream}_lane_beta`].sort());
  });

  it("MQ-36 6 routers run setup() at once while beta's durable has its own settings: kept", async () => {
    const stream = fresh('SETR');
    await makeLanes(stream, { ack_wait: 90e9, max_deliver: 4 });
    const routers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => router(stream, i % 2 === 0 ? 'v3' : 'v2')),
    );
    await Promise.all(routers.map(({ r }) => r.setup()));
    const c = (await admin.jsm.consumers.info(stream, `${stream}_lane_beta`)).config;
    expect({ ack_wait: c.ack_wait, max_deliver: c.max_deliver }).toEqual({
      ack_wait: 90e9,
      max_deliver: 4,
    });
  });
});

describe('MQ-38 NATS: a drain that fails on every pass says so', () => {
  const rows = [
    { failure: 'the base subject refusing every publish', client: 'v3' },
    { failure: 'the base subject refusing every publish', client: 'v2' },
    { failure: 'a throwing onDrainError', client: 'v3' },
  ] as const;
  it.each(rows)(
    'MQ-38 $failure, drain on $client: counted and reported, and the loop goes on',
    async ({ failure, client }) => {
      const stream = fresh('ERR');
      await makeLanes(stream);
      for (let i = 0; i < 5; i++) await toLane(stream, `m-${i}`);
      const before = queueStats().drainErrors;
      const errors: { err: unknown; lane: string }[] = [];
      const { r } = await router(stream, client, {
        onMove: () => {
          throw new Error('refused by the test');
        },
        onDrainError: (err, lane) => {
          errors.push({ err, lane });
          if (failure === 'a throwing onDrainError') throw new Error('hook');
        },
      });
      await consume(r, 'stable', []);
      await until(() => errors.length >= 3, 5_000);
      expect(
        errors.every(
          (e) => e.lane === 'beta' && (e.err as Error).message === 'refused by the test',
        ),
      ).toBe(true);
      expect(queueStats().drainErrors - before).toBeGreaterThanOrEqual(3);
      expect(await stored(stream)).toBe(5);
    },
  );
});
