// MQ-42 (review 71 D1): a message ran on both the beta and the stable lane when a beta consumer
// had nak'd it with a delay and died, and a beta consumer came back while the default lane drained
// the lane. The drain moved a dead consumer's unacked messages by direct get (read → publish to
// the base subject → delete) while `stored + ack_wait − 5 s` was still ahead, taking for granted
// that the durable hands such a message to no one before its `ack_wait`; but `nak(delay)` makes it
// redeliverable when the delay runs out, often long before, and a direct get hides nothing from
// the durable: the consumer that came back was handed what the drain was moving. Per-message
// checks only narrow that window (a message in flight when its `ack_wait` runs out ran twice too).
// Now what a durable may hand out again is moved only by pulling it once the durable does: the
// server gives each message to the drain or to the returning consumer, never both.
//
// Real nats-server on 127.0.0.1. The timing is chosen, not waited for: the beta consumer nak's
// every message with a delay (or holds it unacked) and its connection is closed; the drain's first
// publish to the base subject is held (a slow broker) until the delay or `ack_wait` has run out
// and a beta consumer came back and got a message. The old source is in the middle of its direct
// get move then, on every row but the controls.
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import { connect as connectV2, headers as headersV2 } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes, type NatsLaneConsumer, type NatsLanes } from '../dist/nats.js';
import { HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh, until } from './helpers.js';

const TUNING = { liveness: { intervalMs: 100, graceMs: 300 }, drainIntervalMs: 100 } as const;
/** How long the dead beta consumer nak'd its messages for (the durable hands them out then). */
const NAK_DELAY_MS = 5_000;

let server: { url: string; stop(): Promise<void> } | undefined;
let admin: { nc: NatsConnection; jsm: JetStreamManager };
const connections: { close(): Promise<unknown> }[] = [];
beforeAll(async () => {
  server = await startNats();
  const nc = await connect({ servers: server.url });
  admin = { nc, jsm: await jetstreamManager(nc) };
}, 30_000);
afterAll(async () => {
  await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  await admin?.nc.close();
  await server?.stop();
}, 30_000);

const url = (): string => (server as { url: string }).url;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lanes = createMessageLanes({ config: CONFIG });
type Client = 'v3' | 'v2';

/** The stream and the durables as `setup()` makes them, the lane's with `ackWaitMs`. */
async function makeLanes(stream: string, ackWaitMs: number): Promise<void> {
  const base = stream.toLowerCase();
  await admin.jsm.streams.add({
    name: stream,
    subjects: [base, `${base}.lane.beta`],
    retention: 'workqueue',
  } as never);
  for (const [durable, subject] of [
    [stream, base],
    [`${stream}_lane_beta`, `${base}.lane.beta`],
  ] as const) {
    await admin.jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: 'explicit',
      ack_wait: ackWaitMs * 1_000_000,
    } as never);
  }
}

/** `count` beta messages on the lane's subject. */
async function strand(stream: string, count: number): Promise<string[]> {
  const js = jetstream(admin.nc);
  const ids = Array.from({ length: count }, (_, i) => `m-${i}`);
  await Promise.all(
    ids.map((id) => {
      const h = headers();
      h.set(HEADER, 'beta');
      return js.publish(`${stream.toLowerCase()}.lane.beta`, id, { headers: h });
    }),
  );
  return ids;
}

type Closable = { close(): Promise<unknown>; flush(): Promise<void> };

/**
 * A router on a connection of its own (closed with `nc`). `onMove(n)` runs before the n-th message
 * the drain publishes to the base subject goes out (the publish waits for it).
 */
async function router(
  stream: string,
  client: Client,
  extra: { drainBatch?: number; onMove?: (n: number) => Promise<void> } = {},
): Promise<{ lanes: NatsLanes; nc: Closable }> {
  let nc: Closable;
  let js: object;
  let jsm: object;
  let create: object = {};
  if (client === 'v2') {
    const v2 = await connectV2({ servers: url() });
    [nc, js, jsm, create] = [
      v2,
      v2.jetstream(),
      await v2.jetstreamManager(),
      { headers: headersV2 },
    ];
  } else {
    const v3 = await connect({ servers: url() });
    [nc, js, jsm] = [v3, jetstream(v3), await jetstreamManager(v3)];
  }
  connections.push(nc);
  if (extra.onMove !== undefined) js = withMoveHook(js, extra.onMove);
  const batch = extra.drainBatch === undefined ? {} : { drainBatch: extra.drainBatch };
  const options = { lanes, stream, subject: stream.toLowerCase(), ...TUNING, ...batch, ...create };
  return { lanes: createNatsLanes({ ...options, js, jsm } as never) as NatsLanes, nc };
}

/** `js` whose publishes of drained messages (msgID `graylane-drain-…`) wait for `onMove(n)`. */
function withMoveHook(js: object, onMove: (n: number) => Promise<void>): object {
  let moves = 0;
  return new Proxy(js, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'publish' || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (subject: string, data: unknown, opts?: { msgID?: string }) => {
        if (opts?.msgID?.startsWith('graylane-drain-') === true) await onMove(++moves);
        return (value as (...a: unknown[]) => unknown).call(target, subject, data, opts);
      };
    },
  });
}

/** Every run of every message: `<consumer>/<version>`. */
type Runs = Map<string, string[]>;
const handler = (runs: Runs, consumer: string) => (m: { string(): string; ack(): void }) => {
  const id = m.string();
  runs.set(id, [...(runs.get(id) ?? []), `${consumer}/${getGrayVersion()}`]);
  m.ack();
};
const stored = async (stream: string): Promise<number> =>
  (await admin.jsm.streams.info(stream)).state.messages;
const betaInfo = (stream: string) => admin.jsm.consumers.info(stream, `${stream}_lane_beta`);

/**
 * A beta consumer that takes every message and gives none back in time: `nak` gives each back
 * with {@link NAK_DELAY_MS}, `hold` never acks (both consuming as the router's lane consumer);
 * `plain nak` fetches them all in one pull, then gives each back at once (no pull of its own is
 * left open to take them again). Then its connection is closed (its pull requests go with it;
 * what it holds stays held). Resolves when that happened, with the time.
 */
async function betaThatDies(
  stream: string,
  count: number,
  how: 'nak' | 'plain nak' | 'hold',
): Promise<number> {
  const { lanes: r, nc } = await router(stream, 'v3');
  if (how === 'plain nak') {
    const consumer = await jetstream(nc as NatsConnection).consumers.get(
      stream,
      r.durableFor('beta'),
    );
    const got = [];
    for await (const m of await consumer.fetch({ max_messages: count, expires: 5_000 }))
      got.push(m);
    expect(got).toHaveLength(count);
    for (const m of got) m.nak();
  } else {
    let handled = 0;
    await r.consume('beta', (m) => {
      handled++;
      if (how === 'nak') m.nak(NAK_DELAY_MS);
    });
    await until(() => handled >= count, 10_000);
  }
  await nc.flush();
  await nc.close();
  const at = Date.now();
  // What it nak'd or held is pending on the durable, delivered to no one else yet.
  expect((await betaInfo(stream)).num_ack_pending).toBe(count);
  return at;
}

interface Row {
  readonly how: 'nak' | 'plain nak' | 'hold';
  readonly ackWaitMs: number;
  readonly count: number;
  readonly batch: number;
  /** The drain's n-th publish waits for the consumers to come back (0: nobody comes back). */
  readonly backAt: number;
  readonly betas: number;
  readonly client: Client;
}

/**
 * Runs a row: the beta consumer dies holding every message; the drain's `backAt`-th publish waits
 * until what it held can be handed out again (the nak delay or `ack_wait` ran out), then for
 * `betas` consumers to start and one of them to get a message (or a second: the drain may hold
 * everything). Each message must run exactly once, in beta, and the stream end empty.
 */
async function runRow(row: Row): Promise<Runs> {
  const stream = fresh('NAK');
  await makeLanes(stream, row.ackWaitMs);
  const ids = await strand(stream, row.count);
  const runs: Runs = new Map();
  const started: NatsLaneConsumer[] = [];
  let stable: NatsLaneConsumer | undefined;
  try {
    const diedAt = await betaThatDies(stream, row.count, row.how);
    const handedOutAt =
      diedAt + (row.how === 'nak' ? NAK_DELAY_MS : row.how === 'hold' ? row.ackWaitMs : 0);
    const betaRuns = () => [...runs.values()].flat().filter((r) => r.startsWith('beta')).length;
    const { lanes: stableRouter } = await router(stream, row.client, {
      drainBatch: row.batch,
      onMove: async (n) => {
        if (n !== row.backAt) return;
        await until(() => Date.now() > handedOutAt + 200, 60_000);
        for (let i = 0; i < row.betas; i++) {
          const { lanes: back } = await router(stream, 'v3');
          started.push(await back.consume('beta', handler(runs, `beta${i}`)));
        }
        await until(() => betaRuns() > 0, 1_000).catch(() => undefined);
      },
    });
    stable = await stableRouter.consume('stable', handler(runs, 'stable'));
    const settled = async () => ids.every((id) => runs.has(id)) && (await stored(stream)) === 0;
    await until(settled, 30_000).catch(() => undefined);
    await wait(300); // a late second run would show
    const twice = [...runs].filter(([, r]) => r.length > 1);
    expect(twice.slice(0, 3)).toEqual([]);
    expect(twice).toHaveLength(0);
    expect(ids.filter((id) => !runs.has(id))).toEqual([]);
    expect([...runs.values()].flat().filter((r) => !r.endsWith('/beta'))).toEqual([]);
    expect(await stored(stream)).toBe(0);
    expect(started).toHaveLength(row.backAt === 0 ? 0 : row.betas); // they did come back
    return runs;
  } finally {
    await stable?.close();
    for (const c of started) await c.close();
  }
}

// Rows run side by side (each on a stream of its own): the file's time is one row's, ~15 s.
describe.concurrent(
  'MQ-42 NATS: a dead consumer nak(delay)ed or held its messages, a lane consumer comes back as the durable hands them out: each runs on one lane',
  () => {
    const nak = { how: 'nak', ackWaitMs: 30_000, count: 40, betas: 1, client: 'v3' } as const;
    const rows: readonly (Row & { at: string })[] = [
      { ...nak, at: 'the first move', batch: 500, backAt: 1 },
      { ...nak, at: 'the first move', batch: 500, backAt: 1, client: 'v2' },
      { ...nak, at: 'the first move', batch: 5, backAt: 1 },
      { ...nak, at: 'the middle of the batch', batch: 500, backAt: 10 },
      { ...nak, at: 'the first move', batch: 500, backAt: 1, betas: 3 },
      { ...nak, at: 'the first move', batch: 500, backAt: 1, count: 300 },
      // No nak: held until `ack_wait`, the drain's move slowed past it (a slow base subject). The
      // old source asked again before each move, so only the message in flight ran twice.
      { ...nak, how: 'hold', ackWaitMs: 8_000, at: 'the first move', batch: 500, backAt: 1 },
      {
        ...nak,
        how: 'hold',
        ackWaitMs: 8_000,
        at: 'the first move',
        batch: 5,
        backAt: 1,
        client: 'v2',
      },
    ];
    it.each(rows)(
      'MQ-42 $how ($count, ack_wait $ackWaitMs ms), $betas consumer(s) back at $at (batch $batch, drain on $client)',
      async (row) => void (await runRow(row)),
      60_000,
    );

    it.each([
      { ...nak, batch: 500, backAt: 0 },
      { ...nak, batch: 7, backAt: 0, client: 'v2' },
    ] as const)(
      'MQ-42 control: $how ($count), nobody comes back (batch $batch, drain on $client): each runs once, on stable',
      async (row) => {
        const runs = await runRow(row);
        expect([...runs.values()].flat().every((r) => r === 'stable/beta')).toBe(true);
      },
      60_000,
    );

    it('MQ-42 control: plain nak (handed out at once, pulled by the drain), a consumer back at the first move', async () => {
      await runRow({ ...nak, how: 'plain nak', batch: 500, backAt: 1 });
    }, 60_000);
  },
);
