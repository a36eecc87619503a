import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes } from '../dist/nats.js';
import { openCases, HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { tempDir } from './brokers/process.js';
import { CONFIG, fresh } from './helpers.js';
import { laneSuite, routerTuning, type BrokerDriver } from './lane-suite.js';

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
