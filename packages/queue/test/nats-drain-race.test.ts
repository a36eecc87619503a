// MQ-33 (review 54 D2): the NATS drain raced a lane consumer that came back. The drain read a batch
// by direct get, asked once whether the lane was alive, then published and deleted each message
// in turn; a direct get does not hide a message from the lane's durable consumer, so whatever
// the drain had read but not yet deleted was delivered to the returning consumer too: processed
// on stable and on beta (498 of a 500-message batch in the review's repro). Now the drain pulls
// through the lane's durable, so the server gives each message to the drain or to the returning
// consumer, never both. Real nats-server on 127.0.0.1; the lane consumer comes back at chosen
// points of the drain: the drain's publish to the base subject is held (a slow broker) while the
// consumer starts and pulls, so the old source loses the race on every row.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

/** Lane consumers' acks wait this long: what a killed or closed consumer held comes back then. */
const ACK_WAIT_MS = 2_000;
const TUNING = { liveness: { intervalMs: 100, graceMs: 300 }, drainIntervalMs: 100 } as const;

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

/**
 * The stream and the two durables as `setup()` makes them, with a short `ack_wait` so what a
 * closed or killed consumer held is handed out again within the row.
 */
async function makeLanes(stream: string): Promise<void> {
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
      ack_wait: ACK_WAIT_MS * 1_000_000,
    } as never);
  }
}

/** `count` beta messages waiting on the lane's subject (a killed beta consumer left them). */
async function strand(stream: string, count: number): Promise<string[]> {
  const js = jetstream(admin.nc);
  const ids = Array.from({ length: count }, (_, i) => `m-${i}`);
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(
      ids.slice(i, i + 200).map((id) => {
        const h = headers();
        h.set(HEADER, 'beta');
        return js.publish(`${stream.toLowerCase()}.lane.beta`, id, { headers: h });
      }),
    );
  }
  return ids;
}

type Client = 'v3' | 'v2';

/**
 * A router on its own connection. `onMove(n)` runs before the n-th message the drain publishes
 * to the base subject goes out (the publish waits for it): the lane consumer comes back then.
 */
async function router(
  stream: string,
  client: Client,
  extra: { drainBatch?: number; onMove?: (n: number) => Promise<void> } = {},
): Promise<NatsLanes> {
  const base = { lanes, stream, subject: stream.toLowerCase(), ...TUNING };
  const batch = extra.drainBatch === undefined ? {} : { drainBatch: extra.drainBatch };
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
  if (extra.onMove !== undefined) js = withMoveHook(js, extra.onMove);
  return createNatsLanes({ ...base, ...batch, ...create, js, jsm } as never) as NatsLanes;
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
const record = (runs: Runs, consumer: string, id: string, version = getGrayVersion()): void => {
  const list = runs.get(id) ?? [];
  list.push(`${consumer}/${version}`);
  runs.set(id, list);
};
const handler = (runs: Runs, consumer: string) => (m: { string(): string; ack(): void }) => {
  record(runs, consumer, m.string());
  m.ack();
};

/** Messages stored in the stream (the lane's and the base subject's). */
const stored = async (stream: string): Promise<number> =>
  (await admin.jsm.streams.info(stream)).state.messages;

/**
 * Waits until every id ran and the stream is empty, then a little longer (a late second run
 * would show), and checks that each ran exactly once, in its own version.
 */
async function expectEachOnce(stream: string, ids: readonly string[], runs: Runs): Promise<void> {
  const settled = async () => ids.every((id) => runs.has(id)) && (await stored(stream)) === 0;
  await until(settled, 30_000).catch(() => undefined);
  await wait(300);
  const twice = [...runs].filter(([, r]) => r.length > 1);
  expect(twice.slice(0, 5)).toEqual([]);
  expect(twice).toHaveLength(0);
  expect(ids.filter((id) => !runs.has(id))).toEqual([]);
  expect([...runs.values()].flat().filter((r) => !r.endsWith('/beta'))).toEqual([]);
  expect(await stored(stream)).toBe(0);
}

/**
 * A beta consumer on its own connection. With `limit`, it runs that many messages, then hands
 * back (nak) what it still gets and closes: gone again, its lane dead.
 */
async function betaConsumer(stream: string, runs: Runs, name: string, limit = Infinity) {
  const r = await router(stream, 'v3');
  let ran = 0;
  const self: { consumer?: NatsLaneConsumer; closing?: Promise<void> | undefined } = {};
  const consumer = await r.consume(
    'beta',
    (m) => {
      if (ran >= limit) return m.nak();
      record(runs, name, m.string());
      m.ack();
      if (++ran === limit) self.closing = self.consumer?.close();
    },
    { max_messages: 20 } as never,
  );
  self.consumer = consumer;
  if (ran >= limit) self.closing ??= consumer.close(); // reached before consume() resolved
  return Object.assign(consumer, { closed: () => self.closing ?? Promise.resolve() });
}

/**
 * Hook body: `count` beta consumers start, then the drain's publish goes on once one of them got
 * a message (or 300 ms passed: the drain may hold everything that is left).
 */
async function comeBack(stream: string, runs: Runs, count: number, tag: string, limit?: number) {
  const before = [...runs.values()].flat().filter((r) => r.startsWith('beta')).length;
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) => betaConsumer(stream, runs, `beta${tag}.${i}`, limit)),
  );
  const got = () => [...runs.values()].flat().filter((r) => r.startsWith('beta')).length > before;
  await until(got, 300).catch(() => undefined);
  return started;
}

describe('MQ-33 NATS: a lane consumer coming back while the drain moves its lane: each message runs on exactly one lane', () => {
  // Where the consumer comes back: before the n-th message the drain publishes (a position in
  // the first batch, the first of the second batch), how many consumers, with which client the
  // draining router runs.
  const rows = [
    { at: 'the first move', batch: 1, backlog: 12, moveAt: 1, betas: 1, client: 'v3' },
    { at: 'the first move', batch: 5, backlog: 30, moveAt: 1, betas: 1, client: 'v3' },
    {
      at: 'the middle of the first batch',
      batch: 20,
      backlog: 60,
      moveAt: 10,
      betas: 1,
      client: 'v3',
    },
    {
      at: 'the last move of the first batch',
      batch: 20,
      backlog: 60,
      moveAt: 20,
      betas: 1,
      client: 'v3',
    },
    {
      at: 'the first move of the second batch',
      batch: 20,
      backlog: 60,
      moveAt: 21,
      betas: 1,
      client: 'v3',
    },
    { at: 'the first move', batch: 500, backlog: 1_200, moveAt: 1, betas: 1, client: 'v3' },
    {
      at: 'the middle of the first batch',
      batch: 20,
      backlog: 60,
      moveAt: 10,
      betas: 3,
      client: 'v3',
    },
    { at: 'the first move', batch: 5, backlog: 30, moveAt: 1, betas: 1, client: 'v2' },
    {
      at: 'the middle of the first batch',
      batch: 20,
      backlog: 60,
      moveAt: 10,
      betas: 2,
      client: 'v2',
    },
  ] as const;
  it.each(rows)(
    'MQ-33 $betas consumer(s) back at $at (batch $batch, $backlog waiting, drain on $client)',
    async ({ batch, backlog, moveAt, betas, client }) => {
      const stream = fresh('RACE');
      await makeLanes(stream);
      const ids = await strand(stream, backlog);
      const runs: Runs = new Map();
      const consumers: NatsLaneConsumer[] = [];
      const drained = queueStats().drained;
      const stableRouter = await router(stream, client, {
        drainBatch: batch,
        onMove: async (n) => {
          if (n === moveAt) consumers.push(...(await comeBack(stream, runs, betas, '')));
        },
      });
      consumers.push(await stableRouter.consume('stable', handler(runs, 'stable')));
      try {
        await expectEachOnce(stream, ids, runs);
        expect(consumers.length).toBe(betas + 1); // the consumers did come back
        const onStable = [...runs.values()].filter((r) => r[0]?.startsWith('stable')).length;
        expect(queueStats().drained - drained).toBe(onStable);
      } finally {
        for (const c of consumers) await c.close();
      }
    },
    45_000,
  );
});

describe('MQ-33 NATS: a lane consumer coming back several times, closed or killed in between', () => {
  it('MQ-33 back at moves 1, 25 and 50, closed after 5 messages the first two times (batch 10)', async () => {
    const stream = fresh('AGAIN');
    await makeLanes(stream);
    const ids = await strand(stream, 120);
    const runs: Runs = new Map();
    const consumers: NatsLaneConsumer[] = [];
    const closing: Promise<void>[] = [];
    const stableRouter = await router(stream, 'v3', {
      drainBatch: 10,
      onMove: async (n) => {
        if (![1, 25, 50].includes(n)) return;
        // Gone again after five messages of its own (the last one stays): its lane is dead, the
        // drain goes on.
        const [beta] = await comeBack(stream, runs, 1, `@${n}`, n === 50 ? undefined : 5);
        if (beta === undefined) return;
        consumers.push(beta);
        closing.push(beta.closed());
      },
    });
    consumers.push(await stableRouter.consume('stable', handler(runs, 'stable')));
    try {
      await expectEachOnce(stream, ids, runs);
      await Promise.all(closing);
      const who = new Set([...runs.values()].flat().map((r) => r.split('/')[0]));
      expect([...who].sort()).toEqual(['beta@1.0', 'beta@25.0', 'beta@50.0', 'stable']);
    } finally {
      await Promise.all(closing).catch(() => undefined);
      for (const c of consumers) await c.close();
    }
  }, 60_000);

  /** A beta consumer in its own process (fixtures/nats-race-consumer.mjs), reporting over IPC. */
  async function forkBeta(stream: string, runs: Runs, name: string, ms: number) {
    const script = fileURLToPath(new URL('./fixtures/nats-race-consumer.mjs', import.meta.url));
    const child = fork(script, [url(), stream, String(ms)], { stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m) => {
        if (m === 'ready') resolve();
        else record(runs, name, (m as { id: string }).id, (m as { version: string }).version);
      });
      child.once('exit', (code) => reject(new Error(`beta child exited (${code})`)));
    });
    return child;
  }
  const kill = async (child: ChildProcess | undefined) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };

  it.each([
    { backAt: 25, batch: 10 },
    { backAt: 31, batch: 3 },
  ])(
    'MQ-33 a beta process SIGKILLed holding messages, the lane drained, a new process back at move $backAt (batch $batch)',
    async ({ backAt, batch }) => {
      const stream = fresh('KILL');
      await makeLanes(stream);
      const ids = await strand(stream, 150);
      const runs: Runs = new Map();
      const children: ChildProcess[] = [];
      let stable: NatsLaneConsumer | undefined;
      try {
        const killed = await forkBeta(stream, runs, 'killed', 30);
        children.push(killed);
        await until(() => [...runs.values()].flat().length >= 8, 10_000);
        await kill(killed);
        const stableRouter = await router(stream, 'v3', {
          drainBatch: batch,
          onMove: async (n) => {
            if (n !== backAt) return;
            children.push(await forkBeta(stream, runs, 'restarted', 2));
            const got = () => [...runs.values()].flat().some((r) => r.startsWith('restarted'));
            await until(got, 300).catch(() => undefined);
          },
        });
        stable = await stableRouter.consume('stable', handler(runs, 'stable'));
        const settled = async () => ids.every((id) => runs.has(id)) && (await stored(stream)) === 0;
        await until(settled, 30_000).catch(() => undefined);
        await wait(300);
        expect(ids.filter((id) => !runs.has(id))).toEqual([]);
        expect(await stored(stream)).toBe(0);
        // What the killed process ran without its ack reaching the server runs again (at least
        // once; it holds at most two pulls of 10). Any other second run is the race.
        const twice = [...runs].filter(([, r]) => r.length > 1);
        expect(twice.filter(([, r]) => r[0] !== 'killed/beta' || r.length > 2)).toEqual([]);
        expect(twice.length).toBeLessThanOrEqual(20);
        expect([...runs.values()].flat().some((r) => r.startsWith('restarted'))).toBe(true);
      } finally {
        for (const child of children) await kill(child);
        await stable?.close();
      }
    },
    60_000,
  );
});

describe('MQ-33 NATS: several default-lane consumers drain one lane while its consumer comes back', () => {
  it.each([
    { routers: 2, batch: 10 },
    { routers: 3, batch: 4 },
  ])(
    'MQ-33 $routers draining routers (batch $batch), beta back at the first move of one of them',
    async ({ routers, batch }) => {
      const stream = fresh('MANY');
      await makeLanes(stream);
      const ids = await strand(stream, 150);
      const runs: Runs = new Map();
      const consumers: NatsLaneConsumer[] = [];
      for (let i = 0; i < routers; i++) {
        const r = await router(stream, 'v3', {
          drainBatch: batch,
          ...(i === 0
            ? {
                onMove: async (n: number) => {
                  if (n === 1) consumers.push(...(await comeBack(stream, runs, 1, '')));
                },
              }
            : {}),
        });
        consumers.push(await r.consume('stable', handler(runs, `stable${i}`)));
      }
      try {
        await expectEachOnce(stream, ids, runs);
      } finally {
        for (const c of consumers) await c.close();
      }
    },
    45_000,
  );
});
