// MQ-15 (review 149 D1): lanes on a JetStream stream that keeps acked messages. The drain moves
// every message stored on a dead lane's subject to the base subject and deletes it; in a
// `limits` stream (the default of `jsm.streams.add` / `nats stream add`) or an `interest` stream
// another consumer is interested in, what beta acked is still stored, so the default lane ran it a
// second time and the app's history was deleted. A lane stream must be a work-queue stream:
// setup() and consume() refuse any other, before they change anything. Real nats-server.
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { getGrayVersion, runWithGray } from '@graylane/node';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes, type NatsLaneConsumer, type NatsLanes } from '../dist/nats.js';
import { startNats } from './brokers/nats.js';

const CONFIG = { versions: ['stable', 'beta'], default: 'stable' } as const;
const TUNING = {
  liveness: { intervalMs: 50, graceMs: 0 },
  drainIntervalMs: 50,
} as const;

let started: ReturnType<typeof startNats> | undefined;
const nats = (): ReturnType<typeof startNats> => (started ??= startNats());
afterAll(async () => (await started)?.stop(), 30_000);

let counter = 0;
const fresh = (prefix: string): string => `${prefix}${process.pid}x${++counter}`.toUpperCase();
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await wait(25);
  }
}

type Retention = 'limits' | 'limits (by default)' | 'interest';
const KEEPING: readonly Retention[] = ['limits', 'limits (by default)', 'interest'];
const SUBJECTS = [
  ['the base subject only', (b: string) => [b]],
  ['the base subject and an app wildcard', (b: string) => [b, `${b}-audit.>`]],
  ['every lane subject already', (b: string) => [b, `${b}.lane.beta`]],
] as const;

interface Fixture {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly subject: string;
  readonly router: NatsLanes;
  /** The stream as the app keeps it: config, consumers and every stored message. */
  snapshot(): Promise<{
    retention: string;
    subjects: string[];
    consumers: string[];
    stored: string[];
  }>;
  close(): Promise<void>;
}

/**
 * An app's existing stream (with `retention`, or none given) holding two messages of its own; an
 * `interest` stream has the app's own consumer on every subject (an audit trail, say).
 */
async function appStream(retention: Retention | 'workqueue', subjects: string[]): Promise<Fixture> {
  const server = await nats();
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const stream = fresh('RET');
  const subject = stream.toLowerCase();
  const own = subjects.map((s) => s.replace('BASE', subject));
  const config =
    retention === 'limits (by default)'
      ? { name: stream, subjects: own }
      : { name: stream, subjects: own, retention };
  await jsm.streams.add(config as never);
  if (retention === 'interest') {
    await jsm.consumers.add(stream, { durable_name: 'AUDIT', ack_policy: 'explicit' } as never);
  }
  const js = jetstream(nc);
  for (const id of ['app-1', 'app-2']) await js.publish(subject, id);
  const router = createNatsLanes({
    lanes: createMessageLanes({ config: CONFIG }),
    js,
    jsm,
    stream,
    subject,
    ...TUNING,
  });
  return {
    nc,
    jsm,
    stream,
    subject,
    router,
    async snapshot() {
      const info = await jsm.streams.info(stream);
      const stored: string[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (m) stored.push(`${m.subject}:${m.string()}`);
      }
      const consumers = await jsm.consumers.list(stream).next();
      return {
        retention: info.config.retention,
        subjects: [...(info.config.subjects ?? [])].sort(),
        consumers: consumers.map((c) => c.name).sort(),
        stored,
      };
    },
    close: () => nc.close(),
  };
}

const refusal = (retention: string) =>
  expect.objectContaining({
    name: 'GraylaneError',
    code: 'INVALID_OPTIONS',
    message: expect.stringContaining(`has retention "${retention}"`),
  });

describe('MQ-15 NATS: setup() refuses a stream that keeps acked messages, and leaves it as it was', () => {
  const rows = KEEPING.flatMap((retention) =>
    SUBJECTS.map(([label, subjects]) => ({ retention, label, subjects })),
  );
  it.each(rows)('MQ-15 $retention stream, $label', async ({ retention, subjects }) => {
    const f = await appStream(retention, subjects('BASE'));
    try {
      const before = await f.snapshot();
      const named = retention === 'interest' ? 'interest' : 'limits';
      for (let i = 0; i < 2; i++) await expect(f.router.setup()).rejects.toEqual(refusal(named));
      await expect(f.router.setup()).rejects.toThrow(f.stream);
      expect(await f.snapshot()).toEqual(before);
    } finally {
      await f.close();
    }
  });
});

describe('MQ-15 NATS: consume() refuses such a stream, so no drain runs acked messages again', () => {
  // The app made the stream and the durables itself (no setup()), then starts graylane consumers.
  // Beta's acked message and the app's own messages stay where they are; nothing is run.
  const rows = (['limits (by default)', 'interest'] as const).flatMap((retention) =>
    (['stable', 'beta'] as const).map((lane) => ({ retention, lane })),
  );
  it.each(rows)('MQ-15 $retention stream, consume($lane)', async ({ retention, lane }) => {
    const f = await appStream(retention, ['BASE', 'BASE.lane.beta']);
    const ran: string[] = [];
    const consumers: NatsLaneConsumer[] = [];
    try {
      for (const v of CONFIG.versions) {
        await f.jsm.consumers.add(f.stream, {
          durable_name: f.router.durableFor(v),
          filter_subject: f.router.subjectFor(v),
          ack_policy: 'explicit',
        } as never);
      }
      // A beta message its consumer acked: stored still, in a stream of this retention.
      await jetstream(f.nc).publish(f.router.subjectFor('beta'), 'acked-on-beta');
      const beta = await jetstream(f.nc).consumers.get(f.stream, f.router.durableFor('beta'));
      const m = await beta.next({ expires: 5_000 });
      await m?.ackAck();
      const before = await f.snapshot();
      expect(before.stored).toContain(`${f.router.subjectFor('beta')}:acked-on-beta`);
      const named = retention === 'interest' ? 'interest' : 'limits';
      const result = await f.router
        .consume(lane, (msg) => {
          ran.push(msg.string());
          msg.ack();
        })
        .then(
          (c) => void consumers.push(c),
          (err: unknown) => err,
        );
      await wait(TUNING.drainIntervalMs * 6); // a drain started by mistake would have moved it
      expect(ran).toEqual([]);
      expect(await f.snapshot()).toEqual(before);
      expect(result).toEqual(refusal(named));
    } finally {
      for (const c of consumers) await c.close();
      await f.close();
    }
  });
});

describe('MQ-15 NATS: on a work-queue stream the drain moves only what the lane has not acked', () => {
  // Controls (they pass on the source before review 149 too): beta acks some messages — in order
  // or out of order — and closes with the others unacked; the default lane then runs exactly the
  // unacked ones, once each, and the app's own messages on the base subject once each.
  const rows = [1, 3, 20].flatMap((messages) =>
    (['in order', 'out of order'] as const).flatMap((order) =>
      (['every message', 'every other message'] as const).map((acked) => ({
        messages,
        order,
        acked,
      })),
    ),
  );
  it.each(rows)(
    'MQ-15 control: $messages message(s), beta acks $acked $order',
    async ({ messages, order, acked }) => {
      const f = await appStream('workqueue', ['BASE']);
      const runs: string[] = [];
      let stable: NatsLaneConsumer | undefined;
      try {
        await f.router.setup();
        // MQ-42: what beta holds unacked moves once its durable hands it out again, after
        // ack_wait: 2 s here instead of 30 s.
        await f.jsm.consumers.update(f.stream, `${f.stream}_lane_beta`, { ack_wait: 2e9 } as never);
        const ids = Array.from({ length: messages }, (_, i) => `m${i}`);
        const acks = ids.filter((_, i) => acked === 'every message' || i % 2 === 0);
        const got = new Map<string, () => void>();
        const beta = await f.router.consume('beta', (m) => {
          const id = m.string();
          runs.push(`${id}:beta/${getGrayVersion()}`);
          if (acks.includes(id)) got.set(id, () => m.ack());
        });
        await until(() => f.router.liveness.refresh('beta'));
        for (const id of ids) await runWithGray('beta', () => f.router.publish(id));
        await until(() => runs.length === messages);
        const ackOrder = order === 'in order' ? acks : [...acks].reverse();
        for (const id of ackOrder) got.get(id)?.();
        await f.nc.flush();
        await beta.close();
        stable = await f.router.consume('stable', (m) => {
          runs.push(`${m.string()}:stable/${getGrayVersion()}`);
          m.ack();
        });
        const unacked = ids.filter((id) => !acks.includes(id));
        await until(() => runs.length === messages + unacked.length + 2);
        await wait(TUNING.drainIntervalMs * 6);
        expect([...runs].sort()).toEqual(
          [
            ...ids.map((id) => `${id}:beta/beta`),
            ...unacked.map((id) => `${id}:stable/beta`),
            'app-1:stable/stable',
            'app-2:stable/stable',
          ].sort(),
        );
        expect((await f.snapshot()).stored).toEqual([]);
      } finally {
        await stable?.close();
        await f.close();
      }
    },
  );
});
