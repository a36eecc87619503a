// MQ-31: the default lane's drain never moves a lane it cannot see, and never publishes a message
// twice. Real nats-server with accounts and per-user permissions. The liveness probe took every
// CONSUMER.INFO failure for "dead" once the grace ran out: a default consumer whose user may not
// ask about beta's durable (or whose JetStream timed out) moved what beta was still running to
// stable — run twice. A drain without STREAM.MSG.GET / MSG.DELETE failed every tick in silence,
// and one whose deletes failed published the same message again once the stream's duplicate window
// had passed. Now: only "consumer not found" is dead; a lane whose probe fails is left alone; a
// default-lane consumer checks its drain's permissions before it pulls; a failed delete is retried
// without publishing again.
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { getGrayVersion } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { createNatsLanes, type NatsLaneConsumer } from '../dist/nats.js';
import { DURABLE, apiProxy, subjectOf, type ProxyAnswer } from './brokers/nats-accounts.js';
import {
  TUNING,
  admin,
  lanes,
  makeStream,
  refused,
  routerFor,
  snapshot,
  srv,
  useNatsAccounts,
  waiting,
  type Lane,
} from './nats-accounts-suite.js';
import { fresh, until } from './helpers.js';

useNatsAccounts();

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stored = async (stream: string): Promise<number> =>
  ((await snapshot(stream)) as { messages: number }).messages;

/** A handler that records `<id>:<consumer>/<version>` and acks only once `open()` is called. */
function gated(consumer: Lane, ran: string[]) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const handler = async (m: JsMsg) => {
    ran.push(`${m.string()}:${consumer}/${getGrayVersion()}`);
    await gate;
    await m.ackAck();
  };
  return { handler, open: () => open() };
}

/** Beta consuming (as the admin) and holding `m1` unacked until `release()`. */
async function betaHolding(stream: string, ran: string[]) {
  const beta = await routerFor('admin', stream);
  const { handler, open } = gated('beta', ran);
  const consumer = await beta.router.consume('beta', handler);
  await waiting(stream, 'beta', 'm1');
  await until(() => ran.includes('m1:beta/beta'));
  return { consumer, release: open };
}

const record = (consumer: Lane, ran: string[]) => (m: JsMsg) => {
  ran.push(`${m.string()}:${consumer}/${getGrayVersion()}`);
  m.ack();
};

describe('MQ-31 NATS: a default-lane consumer whose user may not do what its drain does is refused before it pulls', () => {
  const denied = [
    { user: 'noLaneInfo', api: (s: string) => `$JS.API.CONSUMER.INFO.${s}.${DURABLE}_lane_beta` },
    { user: 'noMsgGet', api: (s: string) => `$JS.API.STREAM.MSG.GET.${s}` },
    { user: 'noMsgDelete', api: (s: string) => `$JS.API.STREAM.MSG.DELETE.${s}` },
  ] as const;
  const rows = denied.flatMap((d) => [false, true].map((asserted) => ({ ...d, asserted })));
  it.each(rows)(
    "MQ-31 $user, consume('stable'), asserted $asserted: refused; beta's held message runs once",
    async ({ user, api, asserted }) => {
      const stream = fresh('DRN');
      await makeStream(stream, 'workqueue');
      const ran: string[] = [];
      const beta = await betaHolding(stream, ran);
      const stables: NatsLaneConsumer[] = [];
      try {
        await waiting(stream, 'stable', 's1');
        const { router } = await routerFor(user, stream, {
          ...(asserted ? { streamRetention: 'workqueue' as const } : {}),
        });
        const started = await router.consume('stable', record('stable', ran)).then(
          (c) => void stables.push(c),
          (err: unknown) => err,
        );
        expect(started).toEqual(
          refused(`publish to "${api(stream)}"`, "default lane's consumer drains"),
        );
        beta.release();
        await until(async () => (await stored(stream)) === 1); // m1 acked; s1 never pulled
        await wait(TUNING.drainIntervalMs * 6); // a drain started by mistake would have moved m1
        expect(ran).toEqual(['m1:beta/beta']);
      } finally {
        beta.release();
        for (const c of [beta.consumer, ...stables]) await c.close();
      }
    },
  );

  // Controls: a lane consumer does not drain, so these users consume beta.
  it.each(denied.slice(1))("MQ-31 control: $user, consume('beta') starts", async ({ user }) => {
    const stream = fresh('DRN');
    await makeStream(stream, 'workqueue');
    await waiting(stream, 'beta', 'm1');
    const ran: string[] = [];
    const { router } = await routerFor(user, stream);
    const consumer = await router.consume('beta', record('beta', ran));
    try {
      await until(() => ran.length === 1);
      expect(ran).toEqual(['m1:beta/beta']);
    } finally {
      await consumer.close();
    }
  });
});

/**
 * A default-lane consumer (as the admin) whose JetStreamManager calls go through the API proxy,
 * answered as `mode` says; started (its drain check answered by the server as `mode` lets it).
 */
async function stableVia(
  stream: string,
  ran: string[],
  mode: (api: string, subject: string) => ProxyAnswer,
) {
  const prefix = `DRAINPROXY.${stream}`;
  const proxy = apiProxy(admin.nc, prefix, mode);
  await admin.nc.flush();
  const nc = await srv().connect('admin');
  const router = createNatsLanes({
    lanes,
    js: jetstream(nc),
    jsm: await jetstream(nc, { apiPrefix: prefix, timeout: 300 }).jetstreamManager(false),
    stream,
    subject: subjectOf(stream),
    durable: DURABLE,
    ...TUNING,
  });
  const consumer = await router.consume('stable', record('stable', ran));
  return { proxy, router, consumer };
}

const FAILURES: readonly { failure: string; answer: ProxyAnswer }[] = [
  { failure: 'times out', answer: 'swallow' },
  {
    failure: 'answers "JetStream temporarily unavailable" (10008)',
    answer: { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' },
  },
  {
    failure: 'answers "JetStream not enabled for account" (10039)',
    answer: { code: 503, err_code: 10039, description: 'jetstream not enabled for account' },
  },
];

describe('MQ-31 NATS: a lane whose probe fails is not dead: the drain leaves it alone', () => {
  const betaInfo = (subject: string) => subject.endsWith(`.${DURABLE}_lane_beta`);

  it.each(FAILURES)(
    "MQ-31 beta holding a message, beta's CONSUMER.INFO then $failure: the message runs once, on beta",
    async ({ answer }) => {
      const stream = fresh('DRN');
      await makeStream(stream, 'workqueue');
      const ran: string[] = [];
      const beta = await betaHolding(stream, ran);
      let failing = false;
      const stable = await stableVia(stream, ran, (api, subject) =>
        failing && api === 'CONSUMER.INFO' && betaInfo(subject) ? answer : 'forward',
      );
      try {
        await until(() => stable.router.liveness.refresh('beta'));
        failing = true;
        const failed = () =>
          stable.proxy.calls.filter((c) => c.answer !== 'forward' && betaInfo(c.subject)).length;
        await until(() => failed() >= 4); // past the grace: the old drain moved m1 here
        expect(ran).toEqual(['m1:beta/beta']);
        beta.release();
        await until(async () => (await stored(stream)) === 0);
        failing = false;
        await wait(TUNING.drainIntervalMs * 6);
        expect(ran).toEqual(['m1:beta/beta']);
      } finally {
        beta.release();
        await stable.consumer.close();
        await beta.consumer.close();
      }
    },
  );

  it.each(FAILURES)(
    'MQ-31 a lane never seen alive, its CONSUMER.INFO $failure: left until it answers, then drained once',
    async ({ answer }) => {
      const stream = fresh('DRN');
      await makeStream(stream, 'workqueue');
      await waiting(stream, 'beta', 'm1');
      const ran: string[] = [];
      let failing = false;
      const stable = await stableVia(stream, ran, (api, subject) =>
        failing && api === 'CONSUMER.INFO' && betaInfo(subject) ? answer : 'forward',
      );
      // From here, before the drain's first tick (consume()'s own check asked the server).
      failing = true;
      try {
        const failed = () =>
          stable.proxy.calls.filter((c) => c.answer !== 'forward' && betaInfo(c.subject)).length;
        await until(() => failed() >= 4);
        expect(ran).toEqual([]);
        expect(await stored(stream)).toBe(1);
        failing = false;
        await until(() => ran.length === 1);
        await until(async () => (await stored(stream)) === 0);
        expect(ran).toEqual(['m1:stable/beta']);
      } finally {
        await stable.consumer.close();
      }
    },
  );

  it("MQ-31 control: beta's durable deleted (consumer not found): its message is drained once", async () => {
    const stream = fresh('DRN');
    await makeStream(stream, 'workqueue');
    await waiting(stream, 'beta', 'm1');
    await admin.jsm.consumers.delete(stream, `${DURABLE}_lane_beta`);
    const ran: string[] = [];
    const stable = await stableVia(stream, ran, () => 'forward');
    try {
      await until(() => ran.length === 1);
      await until(async () => (await stored(stream)) === 0);
      expect(ran).toEqual(['m1:stable/beta']);
    } finally {
      await stable.consumer.close();
    }
  });
});

describe('MQ-31 NATS: a drained message whose delete fails is never published again', () => {
  // The stream forgets a Nats-Msg-Id after its duplicate window (250 ms here, 2 min by default):
  // the old drain published the message again on every tick past it.
  const DUPLICATE_WINDOW_NS = 250_000_000;
  it.each(FAILURES.slice(0, 2))(
    'MQ-31 STREAM.MSG.DELETE $failure for many ticks past the duplicate window: run once',
    async ({ answer }) => {
      const stream = fresh('DRN');
      const base = subjectOf(stream);
      await admin.jsm.streams.add({
        name: stream,
        subjects: [base, `${base}.lane.beta`],
        retention: 'workqueue',
        duplicate_window: DUPLICATE_WINDOW_NS,
      } as never);
      const { router: setup } = await routerFor('admin', stream);
      await setup.setup();
      const ran: string[] = [];
      let failing = false;
      const stable = await stableVia(stream, ran, (api) =>
        failing && api === 'STREAM.MSG.DELETE' ? answer : 'forward',
      );
      try {
        // m1 held unacked by a lane consumer that then goes away: the drain moves a dead
        // consumer's message by direct get and delete (an undelivered one is pulled and acked).
        const beta = await routerFor('admin', stream);
        const took: string[] = [];
        const held = await beta.router.consume('beta', (m) => void took.push(m.string()));
        await waiting(stream, 'beta', 'm1');
        await until(() => took.length === 1);
        await held.close();
        // MQ-42: a held message the durable may hand out again is moved only through the
        // durable (after its ack_wait); with the durable gone it has no one to hand it out, and
        // the drain takes it by direct get and delete — the path this row tests.
        await admin.jsm.consumers.delete(stream, `${DURABLE}_lane_beta`);
        failing = true; // after consume(): its check deleted sequence 0 through the proxy
        const failed = () => stable.proxy.calls.filter((c) => c.answer !== 'forward').length;
        await until(() => ran.length === 1);
        await until(() => failed() >= 12, 30_000);
        failing = false;
        await until(async () => (await stored(stream)) === 0);
        await wait(TUNING.drainIntervalMs * 6);
        expect(ran).toEqual(['m1:stable/beta']);
      } finally {
        await stable.consumer.close();
      }
    },
  );
});
