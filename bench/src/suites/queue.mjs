// Message lanes (@graylane/queue): throughput with the wrappers ÷ throughput of the bare client,
// measured in one run, rounds interleaved, median ratio reported.
// - in-process: the per-message work alone (carry: marker into headers; bind: decide + run the
//   handler in its lane) vs a bare header copy and handler call;
// - NATS JetStream and BullMQ/Redis (full runs): publish N messages and consume them all, bare
//   client vs the lane router (marker carried, liveness-routed, each message bound). The brokers
//   are started here from the Debian binaries on free loopback ports; a missing binary skips that
//   broker with a printed reason. RabbitMQ is left out: its node takes 20–40 s to boot here.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getGrayVersion, runWithGray } from '@graylane/node';
import { createMessageLanes } from '@graylane/queue';
import { compareOps, goal, median } from '../measure.mjs';

const CONFIG = { versions: ['stable', 'beta'], default: 'stable' };

export async function run({ quick }) {
  const rows = [];
  const goals = [];
  const notes = [];
  const inProcess = measureInProcess(quick);
  rows.push(['in-process carry + bind', ...inProcess.cells]);
  goals.push(
    goal('in-process carry + bind ≥ 0.2× a bare header copy + call', inProcess.ratio, 0.2),
  );
  if (quick) {
    notes.push('Quick run: brokers skipped (they need seconds to start).');
  } else {
    for (const [name, bench] of [
      ['NATS JetStream', benchNats],
      ['BullMQ (Redis)', benchBull],
    ]) {
      try {
        const r = await bench();
        if (r.skipped) {
          notes.push(`${name}: skipped — ${r.skipped}.`);
          continue;
        }
        rows.push([`${name}: publish + consume`, ...r.cells]);
        goals.push(goal(`${name} with lanes ≥ 0.7× the bare client`, r.ratio, 0.7));
      } catch (err) {
        notes.push(`${name}: skipped — ${err?.message ?? err}.`);
      }
    }
  }
  return {
    id: 'queue',
    title: 'Message lanes: throughput with @graylane/queue ÷ the bare client',
    header: ['path', 'bare msgs/s', 'with lanes msgs/s', 'ratio'],
    rows,
    goals,
    notes: [
      'In-process: the marker is written into a header table and read back, the handler runs inside `runWithGray` (what each consumed message costs). Brokers: N messages published (500 in flight) and consumed to the last ack, bare vs the lane router with a live beta consumer and every message produced in lane beta.',
      ...notes,
    ].join(' '),
  };
}

function measureInProcess(quick) {
  const lanes = createMessageLanes({ config: CONFIG });
  const base = { 'content-type': 'application/json' };
  const handler = () => 1;
  const ops = runWithGray('beta', () =>
    compareOps(
      {
        bare: () => {
          const h = { ...base, 'x-gray-id': 'beta' };
          return handler(h);
        },
        lanes: () => {
          const h = lanes.inject(base);
          return lanes.run(
            (n) => h[n],
            () => (getGrayVersion() === 'beta' ? 1 : 0),
          );
        },
      },
      quick ? { rounds: 3, minMs: 50 } : { rounds: 9, minMs: 150 },
    ),
  );
  const ratio = ops.lanes / ops.bare;
  return { ratio, cells: [fmt(ops.bare), fmt(ops.lanes), `${ratio.toFixed(2)}×`] };
}

/** Interleaves `rounds` of bare and wrapped runs; each returns msgs/s. */
async function interleave(bare, wrapped, rounds) {
  const a = [];
  const b = [];
  await bare();
  await wrapped();
  for (let r = 0; r < rounds; r++) {
    if (r % 2) {
      b.push(await wrapped());
      a.push(await bare());
    } else {
      a.push(await bare());
      b.push(await wrapped());
    }
  }
  const ratio = median(b.map((x, i) => x / a[i]));
  return { ratio, cells: [fmt(median(a)), fmt(median(b)), `${ratio.toFixed(2)}×`] };
}

const N = 4_000;
const ROUNDS = 5;

async function benchNats() {
  if (!existsSync('/usr/sbin/nats-server')) return { skipped: 'no /usr/sbin/nats-server' };
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-bench-nats-'));
  const port = await freePort();
  const server = await startProcess(
    '/usr/sbin/nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', tmp],
    port,
  );
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const { createNatsLanes } = await import('@graylane/queue/nats');
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const lanes = createMessageLanes({ config: CONFIG });
    let k = 0;
    const once = async (wrapped) => {
      const stream = `B${++k}`;
      const subject = stream.toLowerCase();
      let done;
      const finished = new Promise((r) => (done = r));
      let seen = 0;
      const onMsg = (m) => {
        m.ack();
        if (++seen === N) done();
      };
      let publish;
      const closers = [];
      if (wrapped) {
        const router = createNatsLanes({ lanes, js, jsm, stream, subject });
        await router.setup();
        for (const lane of ['beta', 'stable']) closers.push(await router.consume(lane, onMsg));
        while (!(await router.liveness.refresh('beta'))) await sleep(20);
        publish = (i) => router.publish(String(i));
      } else {
        await jsm.streams.add({ name: stream, subjects: [subject], retention: 'workqueue' });
        await jsm.consumers.add(stream, { durable_name: stream, ack_policy: 'explicit' });
        const c = await js.consumers.get(stream, stream);
        closers.push(await c.consume({ callback: onMsg, expires: 5_000 }));
        publish = (i) => js.publish(subject, String(i));
      }
      const start = performance.now();
      await runWithGray('beta', () => inFlight(N, 500, publish));
      await finished;
      const rate = (N / (performance.now() - start)) * 1000;
      for (const c of closers) await c.close();
      await jsm.streams.delete(stream);
      return rate;
    };
    return await interleave(
      () => once(false),
      () => once(true),
      ROUNDS,
    );
  } finally {
    await nc.close();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function benchBull() {
  if (!existsSync('/usr/bin/redis-server')) return { skipped: 'no /usr/bin/redis-server' };
  let bullmq;
  let ioredis;
  try {
    bullmq = await import('bullmq');
    ioredis = await import('ioredis');
  } catch {
    return { skipped: 'bullmq / ioredis not installed' };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'graylane-bench-redis-'));
  const port = await freePort();
  const server = await startProcess(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      tmp,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port,
  );
  const { createBullLanes } = await import('@graylane/queue/bullmq');
  const connection = { host: '127.0.0.1', port };
  const redis = new ioredis.Redis(connection);
  try {
    const lanes = createMessageLanes({ config: CONFIG });
    let k = 0;
    const once = async (wrapped) => {
      const name = `b${++k}`;
      let done;
      const finished = new Promise((r) => (done = r));
      let seen = 0;
      const processor = async () => {
        if (++seen === N) done();
      };
      const closers = [];
      let addBulk;
      if (wrapped) {
        const router = createBullLanes({ lanes, name, connection, redis });
        const beta = router.worker('beta', processor, { concurrency: 50 });
        const stable = router.worker('stable', processor, { concurrency: 50 });
        closers.push(
          () => beta.close(),
          () => stable.close(),
          () => router.close(),
        );
        await beta.worker.waitUntilReady();
        while (!(await router.liveness.refresh('beta'))) await sleep(20);
        addBulk = (jobs) => router.addBulk(jobs);
      } else {
        const queue = new bullmq.Queue(name, { connection });
        const worker = new bullmq.Worker(name, processor, { connection, concurrency: 50 });
        closers.push(
          () => worker.close(),
          () => queue.close(),
        );
        await worker.waitUntilReady();
        addBulk = (jobs) => queue.addBulk(jobs);
      }
      const start = performance.now();
      await runWithGray('beta', async () => {
        for (let i = 0; i < N; i += 500) {
          await addBulk(Array.from({ length: 500 }, (_, j) => ({ name: 'm', data: { i: i + j } })));
        }
      });
      await finished;
      const rate = (N / (performance.now() - start)) * 1000;
      for (const c of closers) await c();
      return rate;
    };
    return await interleave(
      () => once(false),
      () => once(true),
      ROUNDS,
    );
  } finally {
    await redis.quit();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function inFlight(count, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a broker binary in its own process group and waits (≤ 15 s) for its port. */
async function startProcess(command, args, port) {
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  let exited = false;
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM');
    await gone;
  };
  const deadline = Date.now() + 15_000;
  while (!(await portOpen(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not start`);
    }
    await sleep(100);
  }
  return { stop };
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
