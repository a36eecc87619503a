// MQ-29, MQ-30, MQ-32 (review of the MQ-15 retention check): NATS users with least privilege, on a
// real nats-server with accounts and per-user permissions. setup() took ANY STREAM.INFO failure for
// "stream missing" and went on to create (a permission, a timeout, JetStream off); consume() read
// STREAM.INFO with no way round it for a consumer that may not, and every refusal surfaced as the
// client's bare error. Now only 10059 means missing; a permission or JetStream refusal is
// INVALID_OPTIONS naming what to grant; `streamRetention: 'workqueue'` skips the read.
import { jetstream } from '@nats-io/jetstream';
import { getGrayVersion, runWithGray } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { createNatsLanes, type NatsLaneConsumer } from '../dist/nats.js';
import { DURABLE, subjectOf, type ProxyAnswer, type UserName } from './brokers/nats-accounts.js';
import {
  admin,
  consumeAs,
  lanes,
  makeStream,
  refused,
  routerFor,
  snapshot,
  srv,
  useNatsAccounts,
  waiting,
  watch,
  type Lane,
  type StreamState,
} from './nats-accounts-suite.js';
import { fresh, until } from './helpers.js';

useNatsAccounts();

const CHANGES = ['STREAM.CREATE', 'STREAM.UPDATE', 'CONSUMER.CREATE', 'CONSUMER.DURABLE.CREATE'];
const JS_UNAVAILABLE = {
  code: 503,
  err_code: 10008,
  description: 'JetStream system temporarily unavailable',
};

describe('MQ-29 NATS setup(): only "stream not found" means missing; nothing is created on a guess', () => {
  const STATES: readonly StreamState[] = [
    'missing',
    'workqueue',
    'workqueue without the lane subject',
    'workqueue with an app subject',
    'limits',
  ];
  // The STREAM.INFO read fails: setup() must change nothing and say why.
  const failingInfo = [
    {
      why: 'a user without STREAM.INFO',
      user: 'noStreamInfo' as UserName,
      states: STATES,
      expected: (s: string) => refused(`publish to "$JS.API.STREAM.INFO.${s}"`, `grant publish on`),
    },
    {
      why: 'a user that may not subscribe to its reply inbox',
      user: 'noInbox' as UserName,
      states: ['missing', 'workqueue'] as const,
      expected: () => refused('subscribe to "_INBOX.', '"_INBOX.>"'),
    },
    {
      why: 'an account without JetStream',
      user: 'nojs' as UserName,
      states: ['missing'] as const,
      expected: () => refused('JetStream is not enabled', 'jetstream: enabled'),
    },
    {
      why: 'STREAM.INFO timing out',
      user: 'admin' as UserName,
      viaProxy: (api: string): ProxyAnswer => (api === 'STREAM.INFO' ? 'swallow' : 'forward'),
      states: STATES,
      expected: () => expect.objectContaining({ name: 'TimeoutError' }),
    },
    {
      why: 'STREAM.INFO answering "JetStream temporarily unavailable" (10008)',
      user: 'admin' as UserName,
      viaProxy: (api: string): ProxyAnswer => (api === 'STREAM.INFO' ? JS_UNAVAILABLE : 'forward'),
      states: STATES,
      expected: () => expect.objectContaining({ code: 10008 }),
    },
  ];
  const rows = failingInfo.flatMap((row) => row.states.map((state) => ({ ...row, state })));
  it.each(rows)('MQ-29 $why, stream $state: refused, nothing created or changed', async (row) => {
    const stream = fresh('SET');
    await makeStream(stream, row.state);
    const before = await snapshot(stream);
    const api = await watch(row.user, stream);
    const { router } = await routerFor(row.user, stream, {
      ...(row.viaProxy ? { viaProxy: row.viaProxy } : {}),
    });
    for (let i = 0; i < 2; i++) await expect(router.setup()).rejects.toEqual(row.expected(stream));
    await api.flush();
    expect(api.seen.filter((a) => CHANGES.includes(a))).toEqual([]);
    expect(await snapshot(stream)).toEqual(before);
  });

  // A later step is refused: the error names it (the client's bare error did not say setup()'s why).
  const later = [
    {
      why: 'without STREAM.CREATE',
      user: 'noStreamCreate',
      state: 'missing',
      api: 'STREAM.CREATE.S',
    },
    {
      why: 'without STREAM.UPDATE',
      user: 'noStreamUpdate',
      state: 'workqueue without the lane subject',
      api: 'STREAM.UPDATE.S',
    },
    {
      why: 'without CONSUMER.CREATE',
      user: 'noConsumerCreate',
      state: 'missing',
      api: 'CONSUMER.CREATE.S.',
    },
    {
      why: 'without CONSUMER.CREATE',
      user: 'noConsumerCreate',
      state: 'workqueue',
      api: 'CONSUMER.CREATE.S.',
    },
  ] as const;
  it.each(later)('MQ-29 a user $why, stream $state: INVALID_OPTIONS naming it', async (row) => {
    const stream = fresh('SET');
    await makeStream(stream, row.state, false);
    const { router } = await routerFor(row.user, stream);
    const subject = `$JS.API.${row.api.replace(/\.S(\.|$)/, `.${stream}$1`)}`;
    await expect(router.setup()).rejects.toEqual(
      refused(`publish to "${subject}`, 'grant publish on', 'setup() reads the stream'),
    );
  });

  // Controls (they pass on the old source too): the admin, and the deploy role docs/queues.md lists.
  const controls = (['admin', 'deploy'] as const).flatMap((user) =>
    (
      [
        'missing',
        'workqueue',
        'workqueue without the lane subject',
        'workqueue with an app subject',
      ] as const
    ).map((state) => ({ user, state })),
  );
  it.each(controls)('MQ-29 control: $user, stream $state: set up', async ({ user, state }) => {
    const stream = fresh('SET');
    await makeStream(stream, state, false);
    const { router } = await routerFor(user, stream);
    await router.setup();
    await router.setup();
    const base = subjectOf(stream);
    expect(await snapshot(stream)).toEqual({
      retention: 'workqueue',
      subjects: [
        base,
        `${base}.lane.beta`,
        ...(state === 'workqueue with an app subject' ? [`${base}-audit`] : []),
      ].sort(),
      consumers: [DURABLE, `${DURABLE}_lane_beta`],
      messages: 0,
    });
  });
});

describe('MQ-30 NATS consume(): a least-privilege consumer starts, or is refused saying what to grant', () => {
  const ASSERT = { streamRetention: 'workqueue' } as const;
  const role = (lane: Lane, info: boolean): UserName =>
    lane === 'beta' ? (info ? 'beta' : 'betaNoInfo') : info ? 'stable' : 'stableNoInfo';
  const LANES: readonly Lane[] = ['stable', 'beta'];

  // Refused before anything is pulled: the waiting message stays, no handler runs.
  const refusals = [
    {
      why: 'a user without STREAM.INFO',
      user: () => 'noStreamInfo' as UserName,
      asserted: [false],
      expected: (s: string) =>
        refused(`publish to "$JS.API.STREAM.INFO.${s}"`, "streamRetention: 'workqueue'"),
    },
    {
      why: 'the consumer role without STREAM.INFO',
      user: (lane: Lane) => role(lane, false),
      asserted: [false],
      expected: (s: string) =>
        refused(`publish to "$JS.API.STREAM.INFO.${s}"`, "streamRetention: 'workqueue'"),
    },
    {
      why: 'a user without CONSUMER.INFO',
      user: () => 'noConsumerInfo' as UserName,
      asserted: [false, true],
      expected: (s: string, lane: Lane) =>
        refused(
          `publish to "$JS.API.CONSUMER.INFO.${s}.${lane === 'beta' ? `${DURABLE}_lane_beta` : DURABLE}"`,
        ),
    },
    {
      why: 'a user that may not subscribe to its reply inbox',
      user: () => 'noInbox' as UserName,
      asserted: [false, true],
      expected: () => refused('subscribe to "_INBOX.'),
    },
  ];
  const rows = refusals.flatMap((r) =>
    LANES.flatMap((lane) => r.asserted.map((asserted) => ({ ...r, lane, asserted }))),
  );
  it.each(rows)('MQ-30 $why, consume($lane), asserted $asserted: refused', async (row) => {
    const stream = fresh('CON');
    await makeStream(stream, 'workqueue');
    await waiting(stream, row.lane, 'm1');
    const before = await snapshot(stream);
    const { ran, started } = await consumeAs(
      row.user(row.lane),
      stream,
      row.lane,
      row.asserted ? ASSERT : {},
    );
    expect(started).toEqual({ error: row.expected(stream, row.lane) });
    expect(ran).toEqual([]);
    expect(await snapshot(stream)).toEqual(before);
  });

  // Nothing to consume yet: the message says what to do (the client said "stream not found").
  const missing = [
    {
      why: 'no stream',
      user: 'admin',
      state: 'missing',
      says: ['does not exist', 'run setup() first'],
    },
    {
      why: 'no durable consumer',
      user: 'admin',
      state: 'workqueue without consumers',
      says: ['has no durable consumer', 'run setup() first'],
    },
    {
      why: 'an account without JetStream',
      user: 'nojs',
      state: 'missing',
      says: ['JetStream is not enabled'],
    },
  ] as const;
  const missingRows = missing.flatMap((r) =>
    LANES.flatMap((lane) => [false, true].map((asserted) => ({ ...r, lane, asserted }))),
  );
  it.each(missingRows)('MQ-30 $why, consume($lane), asserted $asserted: refused', async (row) => {
    const stream = fresh('CON');
    if (row.state !== 'missing') await makeStream(stream, 'workqueue', false);
    const { ran, started } = await consumeAs(
      row.user,
      stream,
      row.lane,
      row.asserted ? ASSERT : {},
    );
    expect(started).toEqual({ error: refused(...row.says) });
    expect(ran).toEqual([]);
  });

  // Asserted, the consumer never reads STREAM.INFO: users without it consume, in the lane.
  const asserted = LANES.flatMap((lane) =>
    (['noStreamInfo', role(lane, false), role(lane, true), 'admin'] as const).map((user) => ({
      lane,
      user,
    })),
  );
  it.each(asserted)(
    "MQ-30 streamRetention: 'workqueue', $user, consume($lane): consumes without STREAM.INFO",
    async ({ lane, user }) => {
      const stream = fresh('CON');
      await makeStream(stream, 'workqueue');
      const api = await watch(user, stream);
      await waiting(stream, lane, 'm1');
      const { ran, started } = await consumeAs(user, stream, lane, ASSERT);
      try {
        expect(started).not.toHaveProperty('error');
        await until(() => ran.length === 1);
        await api.flush();
        expect(api.seen).not.toContain('STREAM.INFO');
        await until(async () => ((await snapshot(stream)) as { messages: number }).messages === 0);
        expect(ran).toEqual([`m1:${lane}`]);
      } finally {
        if ('consumer' in started) await started.consumer.close();
      }
    },
  );

  it.each([['limits'], ['interest'], ['WorkQueue'], [''], [1], [null], [{}], [true]])(
    'MQ-30 streamRetention %j is refused when the router is built',
    async (value) => {
      const nc = await srv().connect('admin');
      const build = () =>
        createNatsLanes({
          lanes,
          js: jetstream(nc),
          jsm: admin.jsm,
          stream: 'ORDERS',
          subject: 'orders',
          streamRetention: value as never,
        });
      expect(build).toThrow(refused('streamRetention must be "workqueue"'));
    },
  );

  // Controls: STREAM.INFO read (no assertion) by users that may; a timeout is the client's error.
  const controls = LANES.flatMap((lane) =>
    (['admin', role(lane, true)] as const).map((user) => ({ lane, user })),
  );
  it.each(controls)(
    'MQ-30 control: $user, consume($lane), retention read',
    async ({ lane, user }) => {
      const stream = fresh('CON');
      await makeStream(stream, 'workqueue');
      const api = await watch(user, stream);
      await waiting(stream, lane, 'm1');
      const { ran, started } = await consumeAs(user, stream, lane);
      try {
        await until(() => ran.length === 1);
        expect(ran).toEqual([`m1:${lane}`]);
        await api.flush();
        expect(api.seen).toContain('STREAM.INFO');
      } finally {
        if ('consumer' in started) await started.consumer.close();
      }
    },
  );
  it.each(LANES)(
    'MQ-30 control: STREAM.INFO timing out, consume(%s): the timeout',
    async (lane) => {
      const stream = fresh('CON');
      await makeStream(stream, 'workqueue');
      await waiting(stream, lane, 'm1');
      const { ran, started } = await consumeAs('admin', stream, lane, {
        viaProxy: (api) => (api === 'STREAM.INFO' ? 'swallow' : 'forward'),
      });
      expect(started).toEqual({ error: expect.objectContaining({ name: 'TimeoutError' }) });
      expect(ran).toEqual([]);
    },
  );
});

describe('MQ-32 NATS: the roles docs/queues.md lists run lanes end to end', () => {
  // deploy runs setup(); producer publishes; beta and stable consume (stable drains). Without
  // STREAM.INFO, the consumers assert the retention (fails on the old source: no such option).
  const rows = [
    { consumers: 'with STREAM.INFO', info: true },
    { consumers: "without STREAM.INFO, streamRetention: 'workqueue'", info: false },
  ];
  it.each(rows)('MQ-32 consumers $consumers', async ({ info }) => {
    const stream = fresh('ROLE');
    const options = info ? {} : ({ streamRetention: 'workqueue' } as const);
    const deploy = await routerFor('deploy', stream);
    await deploy.router.setup();
    const producer = await routerFor('producer', stream);
    const ran: string[] = [];
    const handler = (consumer: Lane) => (m: { string(): string; ack(): void }) => {
      ran.push(`${m.string()}:${consumer}/${getGrayVersion()}`);
      m.ack();
    };
    const consumers: NatsLaneConsumer[] = [];
    try {
      const beta = await routerFor(info ? 'beta' : 'betaNoInfo', stream, options);
      const stable = await routerFor(info ? 'stable' : 'stableNoInfo', stream, options);
      const betaConsumer = await beta.router.consume('beta', handler('beta'));
      consumers.push(betaConsumer, await stable.router.consume('stable', handler('stable')));
      await until(() => producer.router.liveness.refresh('beta'));
      for (const id of ['b1', 'b2']) await runWithGray('beta', () => producer.router.publish(id));
      await producer.router.publish('s1');
      await until(() => ran.length === 3);
      await betaConsumer.close();
      await until(async () => !(await producer.router.liveness.refresh('beta')));
      await waiting(stream, 'beta', 'left-on-beta'); // what producers routed there while it lived
      await runWithGray('beta', () => producer.router.publish('b3'));
      await until(() => ran.length === 5);
      expect([...ran].sort()).toEqual(
        [
          'b1:beta/beta',
          'b2:beta/beta',
          's1:stable/stable',
          'left-on-beta:stable/beta',
          'b3:stable/beta',
        ].sort(),
      );
      await until(async () => ((await snapshot(stream)) as { messages: number }).messages === 0);
    } finally {
      for (const c of consumers) await c.close().catch(() => undefined);
    }
  });
});
