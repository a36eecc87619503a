// MQ-43 (review 71 D2): a lane durable the app made with a filter that does not cover the lane's
// subject (an older subject name, say) was accepted by setup() and consume(). Its consumer kept
// pull requests open, so the lane looked alive and producers routed to `<subject>.lane.beta`,
// where nothing delivers: the messages were stranded, and the drain never ran. With the lane dead,
// the drain pulled that durable and moved *its* subject's messages to the base subject. Now
// setup() and consume() refuse a lane durable whose filter is not its lane's (it does not cover the
// lane's subject, or it also covers another lane's), with INVALID_OPTIONS saying what to do, as
// MQ-41 does for push durables; such a durable keeps no lane alive, and the drain reports it and
// leaves its lane alone. NATS token rules: `*` one token, a last `>` one or more, no filter every
// subject. Real nats-server (2.9: `filter_subject`; `filter_subjects` needs 2.10) on 127.0.0.1,
// routers on the `@nats-io/jetstream` v3 and `nats` v2 clients.
import { GraylaneError } from '@graylane/core';
import { getGrayVersion, runWithGray } from '@graylane/node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { connect as connectV2, headers as headersV2 } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, type MessageLanes } from '../dist/index.js';
import { createNatsLanes, type NatsLaneConsumer, type NatsLanes } from '../dist/nats.js';
import { HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh, until } from './helpers.js';

const TUNING = { liveness: { intervalMs: 100, graceMs: 300 }, drainIntervalMs: 100 } as const;

let server: { url: string; stop(): Promise<void> } | undefined;
let admin: { nc: NatsConnection; jsm: JetStreamManager };
const connections: { close(): Promise<unknown> }[] = [];
const consumers: { close(): Promise<unknown> }[] = [];
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
type Client = 'v3' | 'v2';
const THREE = createMessageLanes({
  config: { versions: ['stable', 'beta', 'gamma'], default: 'stable' },
});
const TWO = createMessageLanes({ config: CONFIG });

async function router(
  stream: string,
  client: Client,
  lanes: MessageLanes,
  extra: { onDrainError?: (err: unknown, lane: string) => void } = {},
): Promise<NatsLanes> {
  let js: object;
  let jsm: object;
  let create: object = {};
  if (client === 'v2') {
    const nc = await connectV2({ servers: url() });
    connections.push(nc);
    [js, jsm, create] = [nc.jetstream(), await nc.jetstreamManager(), { headers: headersV2 }];
  } else {
    const nc = await connect({ servers: url() });
    connections.push(nc);
    [js, jsm] = [jetstream(nc), await jetstreamManager(nc)];
  }
  const options = { lanes, stream, subject: stream.toLowerCase(), ...TUNING, ...create, ...extra };
  return createNatsLanes({ ...options, js, jsm } as never) as NatsLanes;
}

/** What a call rejected with, or undefined (a consumer it started is closed after the file). */
async function refusal(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (c) => {
      if (typeof (c as NatsLaneConsumer | undefined)?.close === 'function')
        consumers.push(c as NatsLaneConsumer);
      return undefined;
    },
    (e: unknown) => e,
  );
}

function expectRefused(err: unknown, durable: string, ...mentions: string[]): void {
  expect(err).toBeInstanceOf(GraylaneError);
  expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
  const message = (err as Error).message;
  expect(message).toContain(JSON.stringify(durable));
  expect(message).toContain('Delete it and run setup() again');
  for (const m of mentions) expect(message).toContain(m);
}

/**
 * One lane durable made by the app before setup(): `filter` (`s` stands for the base subject;
 * undefined: no filter) on the durable of `lane`; `others` names what else the stream holds.
 */
interface Row {
  readonly what: string;
  readonly lanes: 'two' | 'three';
  readonly lane: 'stable' | 'beta';
  readonly filter: string | undefined;
  /** A subject the stream holds too, so the server takes the filter. */
  readonly stored?: string;
  /** undefined: accepted; else what the refusal names besides the durable. */
  readonly refused?: readonly string[];
}

const rows: readonly Row[] = [
  {
    what: 'an older subject',
    lanes: 'two',
    lane: 'beta',
    filter: 's.old.beta',
    refused: ['does not cover', '"s.lane.beta"'],
  },
  {
    what: 'one token more',
    lanes: 'two',
    lane: 'beta',
    filter: 's.lane.beta.>',
    stored: 's.lane.beta.>',
    refused: ['does not cover', '"s.lane.beta"'],
  },
  {
    what: 'a wildcard one token short',
    lanes: 'two',
    lane: 'beta',
    filter: 's.*',
    refused: ['does not cover'],
  },
  {
    what: 'another case',
    lanes: 'two',
    lane: 'beta',
    filter: 's.lane.Beta',
    stored: 's.lane.Beta',
    refused: ['does not cover'],
  },
  {
    what: 'no filter (every subject)',
    lanes: 'two',
    lane: 'beta',
    filter: undefined,
    refused: ['has no filter', 'also covers ["s"]'],
  },
  {
    what: "another lane's subject too",
    lanes: 'three',
    lane: 'beta',
    filter: 's.lane.*',
    refused: ['also covers ["s.lane.gamma"]'],
  },
  {
    what: 'the default lane on an older subject',
    lanes: 'two',
    lane: 'stable',
    filter: 's.old',
    refused: ['does not cover', 'lane "stable"'],
  },
  {
    what: 'the default lane on its lanes too',
    lanes: 'two',
    lane: 'stable',
    filter: 's.>',
    refused: ['does not cover'],
  },
  // Controls: filters that are the lane's by NATS token rules.
  { what: 'exactly the lane subject', lanes: 'two', lane: 'beta', filter: 's.lane.beta' },
  { what: 'a `*` in the middle', lanes: 'two', lane: 'beta', filter: 's.*.beta' },
  { what: 'a last `>` (two versions)', lanes: 'two', lane: 'beta', filter: 's.lane.>' },
  {
    what: 'exactly the lane subject, three versions',
    lanes: 'three',
    lane: 'beta',
    filter: 's.lane.beta',
  },
  { what: 'exactly the base subject', lanes: 'two', lane: 'stable', filter: 's' },
];

/**
 * The stream (the base subject, every lane's, and an older one) and the row's durable. An
 * unfiltered durable overlaps every other on a work-queue stream, so it is the only one.
 */
async function makeRow(stream: string, row: Row): Promise<string> {
  const subj = stream.toLowerCase();
  const lanes = row.lanes === 'three' ? ['beta', 'gamma'] : ['beta'];
  const subjects = [
    subj,
    ...lanes.map((l) => `${subj}.lane.${l}`),
    `${subj}.old`,
    `${subj}.old.beta`,
  ];
  if (row.stored !== undefined) subjects.push(row.stored.replace(/^s(?=\.)/, subj));
  await admin.jsm.streams.add({ name: stream, subjects, retention: 'workqueue' } as never);
  const durable = row.lane === 'stable' ? stream : `${stream}_lane_beta`;
  const filter = row.filter?.replace(/^s(?=\.|$)/, subj);
  await admin.jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: 'explicit',
    ...(filter === undefined ? {} : { filter_subject: filter }),
  } as never);
  return durable;
}

/** The row's expected mentions with `s` as the stream's base subject. */
const mentionsOf = (row: Row, subj: string): string[] =>
  (row.refused ?? []).map((m) => m.replace(/"s(?=[."])/g, `"${subj}`));

describe('MQ-43 NATS: setup() and consume() refuse a lane durable whose filter is not its lane', () => {
  const table = rows.flatMap((row) =>
    (['v3', 'v2'] as const).map((client) => ({ ...row, client })),
  );
  it.each(table)('MQ-43 $client, $lane durable filtering $filter ($what)', async (row) => {
    const stream = fresh('FD');
    const subj = stream.toLowerCase();
    const durable = await makeRow(stream, row);
    const lanes = row.lanes === 'three' ? THREE : TWO;
    const before = (await admin.jsm.streams.info(stream)).config.subjects;
    const r = await router(stream, row.client, lanes);
    const setupErr = await refusal(r.setup());
    // consume() on a stream setup() did not finish: the row's durable is all there is to refuse.
    const consumeErr = await refusal(
      r.consume(row.lane, ((m: { ack(): void }) => m.ack()) as never),
    );
    if (row.refused === undefined) {
      expect(setupErr).toBeUndefined();
      expect(consumeErr).toBeUndefined();
      return;
    }
    expectRefused(setupErr, durable, ...mentionsOf(row, subj));
    expectRefused(consumeErr, durable, ...mentionsOf(row, subj));
    // Refused before anything changed: no durable added, the stream's subjects as they were.
    const names = [];
    for await (const c of admin.jsm.consumers.list(stream)) names.push(c.name);
    expect(names).toEqual([durable]);
    expect((await admin.jsm.streams.info(stream)).config.subjects).toEqual(before);
  });
});

describe('MQ-43 NATS: a lane durable on another subject keeps no lane alive, and the drain leaves it alone', () => {
  /** The stream as setup() makes it, with beta's durable made by the app on an older subject. */
  async function olderBeta(stream: string): Promise<string> {
    const subj = stream.toLowerCase();
    await admin.jsm.streams.add({
      name: stream,
      subjects: [subj, `${subj}.lane.beta`, `${subj}.old.beta`],
      retention: 'workqueue',
    } as never);
    for (const [durable, filter] of [
      [stream, subj],
      [`${stream}_lane_beta`, `${subj}.old.beta`],
    ] as const) {
      await admin.jsm.consumers.add(stream, {
        durable_name: durable,
        filter_subject: filter,
        ack_policy: 'explicit',
      } as never);
    }
    return subj;
  }
  const storedOn = async (stream: string, subject: string): Promise<number> => {
    const info = await admin.jsm.streams.info(stream, { subjects_filter: subject } as never);
    return (info.state.subjects as Record<string, number> | undefined)?.[subject] ?? 0;
  };

  it.each(['v3', 'v2'] as const)(
    'MQ-43 %s: an app consumer pulls beta durable filtering the older subject: beta messages run on stable (in beta), none stranded',
    async (client) => {
      const stream = fresh('FL');
      const subj = await olderBeta(stream);
      // The app's own consumer of that durable: it keeps pull requests open.
      const own = await jetstream(admin.nc).consumers.get(stream, `${stream}_lane_beta`);
      const ownMessages = await own.consume({ callback: (m) => m.ack() });
      consumers.push({ close: () => ownMessages.close() });
      const errors: unknown[] = [];
      const r = await router(stream, client, TWO, { onDrainError: (e) => errors.push(e) });
      const ran: string[] = [];
      await refusal(
        r.consume('stable', ((m: { string(): string; ack(): void }) => {
          ran.push(`${m.string()}:${getGrayVersion()}`);
          m.ack();
        }) as never),
      );
      await until(
        async () => (await admin.jsm.consumers.info(stream, `${stream}_lane_beta`)).num_waiting > 0,
      );
      await wait(400); // a few liveness probes: the old router saw the lane alive here
      const ids = Array.from({ length: 10 }, (_, i) => `b-${i}`);
      for (const id of ids) await runWithGray('beta', () => r.publish(id));
      await until(() => ran.length >= ids.length, 8_000).catch(() => undefined);
      expect(await storedOn(stream, `${subj}.lane.beta`)).toBe(0);
      expect(ran.sort()).toEqual(ids.map((id) => `${id}:beta`).sort());
      await until(() => errors.length > 0, 8_000);
      expect(errors[0]).toMatchObject({ code: 'INVALID_OPTIONS' });
      expect((errors[0] as Error).message).toContain('createNatsLanes drain');
    },
  );

  it.each(['v3', 'v2'] as const)(
    "MQ-43 %s: nobody pulls it: the drain never moves that subject's messages, reports, and leaves what waits on the lane",
    async (client) => {
      const stream = fresh('FN');
      const subj = await olderBeta(stream);
      const js = jetstream(admin.nc);
      const marked = () => {
        const h = headers();
        h.set(HEADER, 'beta');
        return h;
      };
      for (let i = 0; i < 4; i++)
        await js.publish(`${subj}.old.beta`, `old-${i}`, { headers: marked() });
      for (let i = 0; i < 3; i++)
        await js.publish(`${subj}.lane.beta`, `lane-${i}`, { headers: marked() });
      const errors: unknown[] = [];
      const r = await router(stream, client, TWO, { onDrainError: (e) => errors.push(e) });
      const ran: string[] = [];
      await refusal(
        r.consume('stable', ((m: { string(): string; ack(): void }) => {
          ran.push(m.string());
          m.ack();
        }) as never),
      );
      // Five passes, each reported (or a message run: the old drain pulled that durable).
      await until(() => errors.length >= 5 || ran.length > 0, 8_000).catch(() => undefined);
      expect(ran).toEqual([]);
      expect(errors.length).toBeGreaterThanOrEqual(5);
      for (const e of errors) expect(e).toMatchObject({ code: 'INVALID_OPTIONS' });
      expect(await storedOn(stream, `${subj}.old.beta`)).toBe(4);
      expect(await storedOn(stream, `${subj}.lane.beta`)).toBe(3);
    },
  );
});
