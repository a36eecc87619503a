import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { getGrayVersion, runWithGray, withGray } from '@graylane/node';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes, grayNatsHeaders, withGrayNatsMessage } from '../dist/nats.js';
import { openCases, HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { tempDir } from './brokers/process.js';
import { CONFIG, fresh, until } from './helpers.js';
import { laneSuite, routerTuning, type BrokerDriver } from './lane-suite.js';
import {
  TRUSTS,
  carried,
  lanesByTrust,
  relayRows,
  fileEchoed,
  relayTests,
  startRelayEcho,
  type Relayed,
} from './relay.js';

/** Adversarial rows NATS can carry: header values are strings, without CR, LF or NUL. */
function natsCases() {
  return openCases().filter((row) => {
    if (typeof row.value !== 'string') return false;
    try {
      headers().set(HEADER, row.value);
      return true;
    } catch {
      return false;
    }
  });
}

// One nats-server for the whole file: the shared lane scenarios and the NATS-only rows below.
let started: ReturnType<typeof startNats> | undefined;
const nats = (): ReturnType<typeof startNats> => (started ??= startNats());
afterAll(async () => (await started)?.stop(), 30_000);

laneSuite(async () => {
  const server = await nats();
  const connections: NatsConnection[] = [];
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  const driver: BrokerDriver = {
    broker: 'nats',
    url: server.url,
    cases: [
      ...natsCases(),
      { name: 'HDR-07 header appended twice', value: ['beta', 'beta'], reason: 'invalid_marker' },
    ],
    documentedDrainBoundMs: 4_000,
    async open(name, tuning = {}) {
      const nc = await connect({ servers: server.url });
      connections.push(nc);
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const router = createNatsLanes({
        lanes: tuning.lanes ?? lanes,
        js,
        jsm,
        stream: name,
        subject: name.toLowerCase(),
        ...routerTuning(tuning),
      });
      await router.setup();
      const errors: unknown[] = [];
      const marked = (marker: string) => {
        const h = headers();
        h.set(HEADER, marker);
        return h;
      };
      return {
        errors,
        async publishWith(items) {
          await Promise.all(
            items.map(({ id, marker }) =>
              router.publish(id, marker === undefined ? {} : { headers: marked(marker) }),
            ),
          );
        },
        async strand(lane, ids) {
          for (const id of ids) {
            await js.publish(router.subjectFor(lane), id, { headers: marked(lane) });
          }
        },
        publish: async (id) => void (await router.publish(id)),
        publishMany: async (ids) => void (await Promise.all(ids.map((id) => router.publish(id)))),
        consume: (lane, onMessage) =>
          router.consume(lane, (m) =>
            onMessage(m.string())
              .then(() => m.ack())
              .catch((err: unknown) => void errors.push(err)),
          ),
        live: (lane) => router.liveness.refresh(lane),
        async pending(lane) {
          const info = await jsm.consumers.info(name, router.durableFor(lane));
          return info.num_pending + info.num_ack_pending;
        },
        async publishRaw(id, row) {
          const h = headers();
          const values: unknown[] = Array.isArray(row.value) ? row.value : [row.value];
          for (const v of values) h.append(HEADER, String(v));
          await js.publish(name.toLowerCase(), id, { headers: h });
        },
        close: async () => undefined,
      };
    },
  };
  return {
    driver,
    async stop() {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
});

describe('NATS JetStream specifics', () => {
  it.each([
    ['the base subject only', (b: string) => [b]],
    ['the base subject and an app wildcard', (b: string) => [b, `${b}-audit.>`]],
    ['an app subject only', (b: string) => [`${b}-audit.>`]],
    ['every lane subject already', (b: string) => [b, `${b}.lane.beta`, `${b}-audit.x`]],
  ])(
    'MQ-15 setup() on an existing stream with %s keeps its subjects and adds the lanes',
    async (_n, subjects) => {
      const server = await nats();
      const nc = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(nc);
        const stream = fresh('keep');
        const subject = stream.toLowerCase();
        const own = subjects(subject);
        await jsm.streams.add({ name: stream, subjects: own, retention: 'workqueue' } as never);
        const lanes = createMessageLanes({ config: CONFIG });
        const router = createNatsLanes({ lanes, js: jetstream(nc), jsm, stream, subject });
        await router.setup();
        await router.setup();
        const after = (await jsm.streams.info(stream)).config.subjects ?? [];
        expect([...after].sort()).toEqual(
          [...new Set([...own, subject, `${subject}.lane.beta`])].sort(),
        );
        const appSubject = own.find((s) => s.includes('-audit'));
        if (appSubject) {
          const ack = await jetstream(nc).publish(appSubject.replace('>', 'x'), 'still mine');
          expect(ack.stream).toBe(stream);
        }
      } finally {
        await nc.close();
      }
    },
  );

  it('MQ-16 a project with only the `nats` v2 client: @graylane/queue/nats loads, carries and binds with v2 headers and messages', async () => {
    const server = await nats();
    const project = tempDir('graylane-nats-v2-');
    try {
      // node_modules of the repo minus every @nats-io package, resolved through symlinks kept
      // as they are (--preserve-symlinks), so nothing reaches the repo's own @nats-io copies.
      const root = fileURLToPath(new URL('../../../node_modules/', import.meta.url));
      const modules = join(project.dir, 'node_modules');
      mkdirSync(modules);
      for (const entry of readdirSync(root)) {
        if (entry === '@nats-io' || entry.startsWith('.')) continue;
        symlinkSync(join(root, entry), join(modules, entry));
      }
      const script = join(project.dir, 'nats-v2.mjs');
      copyFileSync(fileURLToPath(new URL('./fixtures/nats-v2.mjs', import.meta.url)), script);
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--preserve-symlinks', '--preserve-symlinks-main', script, server.url, fresh('v2')],
          { cwd: project.dir, timeout: 60_000 },
          (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
        v3: string;
        seen: string[];
      };
      expect(result.v3).toBe('absent');
      expect([...result.seen].sort()).toEqual([
        'default-factory:beta:',
        'existing:beta:t1',
        'factory:beta:',
        'no-lane:stable:',
      ]);
    } finally {
      project.remove();
    }
  }, 90_000);
});

describe('MQ-01 NATS: a lane back while the default consumer drains it gets every message routed to it', () => {
  // A backlog stranded on beta's subject is being drained (one long batch) when a beta consumer
  // starts; its handlers hold what they get until the drain has been past the new messages, so
  // every message stays in the stream where the drain reads by subject. Messages a producer
  // routes to the live lane meanwhile are the lane's: none may be processed by the default lane.
  // Backlog messages may go either way, each at least once.
  const BACKLOG = 2_000;
  const PULLS = [
    ['1', 1],
    ['10', 10],
    ['unset (the client default)', undefined],
  ] as const;
  const rows = PULLS.flatMap(([label, pull]) =>
    (['the same router', 'another router'] as const).flatMap((producer) =>
      [1, 30].map((messages) => ({ label, pull, producer, messages })),
    ),
  );
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const marked = (marker: string): MsgHdrs => {
    const h = headers();
    h.set(HEADER, marker);
    return h;
  };

  /** Two routers (own connections) on one fresh stream: the first one's default consumer drains. */
  const routers = async () => {
    const server = await nats();
    const [nc, nc2] = [
      await connect({ servers: server.url }),
      await connect({ servers: server.url }),
    ];
    const stream = fresh('BACK');
    const options = {
      lanes: createMessageLanes({ config: CONFIG }),
      stream,
      subject: stream.toLowerCase(),
      liveness: { intervalMs: 50, graceMs: 0 },
      drainIntervalMs: 50,
      drainBatch: 100_000,
    };
    const jsm = await jetstreamManager(nc);
    const router = createNatsLanes({ ...options, js: jetstream(nc), jsm });
    await router.setup();
    const other = createNatsLanes({
      ...options,
      js: jetstream(nc2),
      jsm: await jetstreamManager(nc2),
    });
    const js = jetstream(nc);
    const strand = async (ids: readonly string[]): Promise<void> => {
      for (let i = 0; i < ids.length; i += 100) {
        await Promise.all(
          ids
            .slice(i, i + 100)
            .map((id) => js.publish(router.subjectFor('beta'), id, { headers: marked('beta') })),
        );
      }
    };
    /** Messages stored on beta's subject. */
    const onLane = async (): Promise<number> => {
      const info = await jsm.streams.info(stream, { subjects_filter: router.subjectFor('beta') });
      return info.state.subjects?.[router.subjectFor('beta')] ?? 0;
    };
    const close = () => Promise.all([nc.close(), nc2.close()]);
    return { router, other, strand, onLane, close };
  };

  it.each(rows)(
    'MQ-01 lane pull batch $label, $messages message(s) by $producer',
    async ({ pull, producer, messages }) => {
      const { router, other, strand, onLane, close } = await routers();
      const backlog = Array.from({ length: BACKLOG }, (_, i) => `b-${i}`);
      await strand(backlog);
      const seen: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const stable = await router.consume('stable', (m) => {
        seen.push(`${m.string()}:stable/${getGrayVersion()}`);
        m.ack();
      });
      let beta: Awaited<ReturnType<typeof router.consume>> | undefined;
      try {
        await wait(150); // the drain's first tick (50 ms) is reading the backlog
        beta = await router.consume(
          'beta',
          async (m) => {
            const who = `${m.string()}:beta/${getGrayVersion()}`;
            await gate;
            seen.push(who);
            m.ack();
          },
          pull === undefined ? undefined : ({ max_messages: pull } as never),
        );
        const publisher = producer === 'another router' ? other : router;
        await until(() => publisher.liveness.refresh('beta'));
        const ids = Array.from({ length: messages }, (_, i) => `n-${i}`);
        for (const id of ids) await runWithGray('beta', () => publisher.publish(id));
        // Held until the drain has been past them: it moved them (the stable consumer got one,
        // the lane is empty), or had the time to.
        await until(
          async () => seen.some((s) => s.startsWith('n-')) || (await onLane()) === 0,
          2_500,
        ).catch(() => undefined);
        release();
        const got = (id: string) => seen.some((s) => s.startsWith(`${id}:`));
        await until(() => [...ids, ...backlog].every(got), 15_000);
        await wait(100);
        const fresh = seen.filter((s) => s.startsWith('n-'));
        expect(fresh.filter((s) => !s.endsWith(':beta/beta'))).toEqual([]);
        expect(fresh).toHaveLength(messages);
      } finally {
        release();
        await beta?.close();
        await stable.close();
        await close();
      }
    },
    30_000,
  );

  it('MQ-01 control: a lane that stays dead is still drained, a backlog in one pass', async () => {
    const { router, strand, onLane, close } = await routers();
    const backlog = Array.from({ length: 500 }, (_, i) => `d-${i}`);
    await strand(backlog);
    const seen: string[] = [];
    const stable = await router.consume('stable', (m) => {
      seen.push(`${m.string()}:stable/${getGrayVersion()}`);
      m.ack();
    });
    try {
      await until(() => seen.length >= backlog.length, 15_000);
      expect([...new Set(seen)].sort()).toEqual(backlog.map((id) => `${id}:stable/beta`).sort());
      expect(await onLane()).toBe(0);
    } finally {
      await stable.close();
      await close();
    }
  });
});

/** A NATS header set as a record of every value per name (names as they were written). */
function record(h: MsgHdrs | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of h ?? []) out[name] = [...values];
  return out;
}

describe('GW-01 NATS: a handler relaying what it received forwards the version decided here', () => {
  // Each row's message goes through both consumer entries (the router's consume and the bare
  // withGrayNatsMessage wrapper); each handler relays it three ways: republished with
  // grayNatsHeaders(lanes, msg.headers), through another router's publish(data, { headers }),
  // and to an HTTP service through withGray(fetch) with the headers it got.
  const ENTRIES = ['router.consume', 'withGrayNatsMessage'] as const;
  const rows = relayRows(false).flatMap((row) => ENTRIES.map((entry) => ({ ...row, entry })));

  const relayAll = async (): Promise<Map<string, Relayed>> => {
    const server = await nats();
    const nc = await connect({ servers: server.url });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const echo = await startRelayEcho();
    const grayFetch = withGray(undefined, { allowHosts: ['127.0.0.1'] });
    const results = new Map<string, Relayed>();
    const closers: (() => Promise<unknown>)[] = [];
    const stream = async (name: string): Promise<string> => {
      const subject = name.toLowerCase();
      await jsm.streams.add({ name, subjects: [subject], retention: 'workqueue' } as never);
      return subject;
    };
    try {
      for (const trust of TRUSTS) {
        const lanes = lanesByTrust()[trust];
        const routerOf = (name: string) =>
          createNatsLanes({ lanes, js, jsm, stream: name, subject: name.toLowerCase() });
        const inbound = routerOf(fresh('GWIN'));
        const forwardName = fresh('GWFWD');
        const forward = routerOf(forwardName);
        await Promise.all([inbound.setup(), forward.setup()]);
        const rawName = fresh('GWRAW');
        const outName = fresh('GWOUT');
        const rawSubject = await stream(rawName);
        const outSubject = await stream(outName);
        await jsm.consumers.add(rawName, {
          durable_name: rawName,
          ack_policy: 'explicit',
        } as never);
        const relay = async (m: JsMsg): Promise<void> => {
          const key = m.string();
          const got = record(m.headers);
          results.set(key, { version: getGrayVersion(), carried: carried(got), onward: {} });
          await js.publish(outSubject, m.data, { headers: grayNatsHeaders(lanes, m.headers) });
          await forward.publish(m.data, m.headers === undefined ? {} : { headers: m.headers });
          const fetchHeaders = new Headers();
          for (const [name, values] of Object.entries(got)) {
            for (const v of values) fetchHeaders.append(name, v);
          }
          await (
            await grayFetch(`${echo.url}/${encodeURIComponent(key)}`, { headers: fetchHeaders })
          ).text();
          m.ack();
        };
        const consumer = await inbound.consume('stable', relay);
        const rawConsumer = await js.consumers.get(rawName, rawName);
        const rawMessages = await rawConsumer.consume({
          callback: withGrayNatsMessage(lanes, (m) => void relay(m)),
        });
        closers.push(
          () => consumer.close(),
          () => rawMessages.close(),
        );
        const mine = rows.filter((r) => r.trust === trust);
        for (const row of mine) {
          const h = headers();
          for (const [name, value] of Object.entries(row.shape.headers))
            h.append(name, String(value));
          const subject =
            row.entry === 'router.consume' ? inbound.subjectFor('stable') : rawSubject;
          await js.publish(subject, `${row.key}|${row.entry}`, { headers: h });
        }
        await until(() => mine.every((r) => results.has(`${r.key}|${r.entry}`)), 15_000);
        // What went on: the republished stream, and both subjects of the forwarding router.
        const from = [
          ['grayNatsHeaders', outName],
          ['router.publish', forwardName],
        ] as const;
        await until(async () => {
          const counts = await Promise.all(
            from.map(async ([, name]) => (await jsm.streams.info(name)).state.messages),
          );
          return counts.every((n) => n === mine.length);
        }, 15_000);
        for (const [path, name] of from) {
          for (let seq = 1; ; seq++) {
            const stored = await jsm.streams.getMessage(name, { seq }).catch(() => null);
            if (stored === null) break;
            const r = results.get(stored.string());
            if (r) r.onward[path] = record(stored.header);
          }
        }
      }
      fileEchoed(results, echo.seen);
    } finally {
      for (const close of closers) await close().catch(() => undefined);
      await nc.close();
      await echo.close();
    }
    return results;
  };

  relayTests('nats', rows, relayAll, ['grayNatsHeaders', 'router.publish', 'withGray(fetch)']);
});
