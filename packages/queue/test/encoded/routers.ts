import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { getGrayVersion } from '@graylane/node';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createAmqpLanes } from '../../dist/amqp.js';
import { createBullLanes } from '../../dist/bullmq.js';
import { createNatsLanes } from '../../dist/nats.js';
import { fresh, until } from '../helpers.js';
import { brokers } from './brokers.js';
import { closeLater, lanes, lazily } from './shared.js';

/** Which consumer ran each message (by its content, or a job's name), and in which version. */
export type Ran = Map<string, { consumer: string; version: string }>;

/**
 * One router per broker, made on first use, with both lanes consuming and beta seen alive: the
 * MQ-23 rows route through them and read `ran`. `tag` names the file's queues and stream.
 */
export function laneRouters(tag: string) {
  const amqp = lazily(async () => {
    const { connection } = (await brokers()).rabbit;
    const router = createAmqpLanes({
      lanes,
      connection,
      queue: fresh(tag),
      queueOptions: { durable: false },
      liveness: { intervalMs: 100, graceMs: 1000 },
    });
    await router.setup();
    closeLater(() => router.close());
    const ran: Ran = new Map();
    for (const lane of ['stable', 'beta'] as const) {
      const c = await router.consume(lane, (msg, ch) => {
        ran.set(msg.content.toString(), { consumer: lane, version: getGrayVersion() });
        ch.ack(msg);
      });
      closeLater(() => c.close());
    }
    await until(() => router.liveness.refresh('beta'));
    return { router, ran };
  });

  const nats = lazily(async () => {
    const nc = await connect({ servers: (await brokers()).nats.url });
    closeLater(() => nc.close());
    const stream = fresh(tag.toUpperCase());
    const router = createNatsLanes({
      lanes,
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      stream,
      subject: stream.toLowerCase(),
      liveness: { intervalMs: 100, graceMs: 1000 },
    });
    await router.setup();
    const ran: Ran = new Map();
    for (const lane of ['stable', 'beta'] as const) {
      const c = await router.consume(lane, (m) => {
        ran.set(m.string(), { consumer: lane, version: getGrayVersion() });
        m.ack();
      });
      closeLater(() => c.close());
    }
    await until(() => router.liveness.refresh('beta'));
    return { router, ran };
  });

  const bull = lazily(async () => {
    const connection = { host: '127.0.0.1', port: (await brokers()).redis.port };
    const redis = new Redis(connection.port, connection.host);
    const name = fresh(tag);
    const router = createBullLanes({
      lanes,
      name,
      connection,
      redis,
      heartbeatTtlMs: 3000,
      liveness: { intervalMs: 100, graceMs: 1000 },
    });
    closeLater(() => redis.quit());
    closeLater(() => router.close());
    const ran: Ran = new Map();
    for (const lane of ['stable', 'beta'] as const) {
      const w = router.worker(lane, async (job) => {
        ran.set(job.name, { consumer: lane, version: getGrayVersion() });
      });
      closeLater(() => w.close());
    }
    await until(() => router.liveness.refresh('beta'));
    /** Jobs of every state in the base queue and beta's. */
    const counts = async (): Promise<number> => {
      let n = 0;
      for (const q of [name, router.queueFor('beta')]) {
        const queue = new Queue(q, { connection });
        const c = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');
        n += Object.values(c).reduce((a, b) => a + b, 0);
        await queue.close();
      }
      return n;
    };
    return { router, ran, counts, connection };
  });

  return { amqp, nats, bull };
}
