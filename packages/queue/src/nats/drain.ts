import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { drainLanes } from '../routing/route.js';
import { copyHeaders } from './carrier.js';
import { JS_CONSUMER_NOT_FOUND, JS_NO_MESSAGE_FOUND, natsCall, unlessApiError } from './errors.js';
import type { NatsHeadersFactory } from './headers.js';
import type { NatsLanes, NatsLanesOptions } from './lanes.js';
import type { NatsStoredMsgLike } from './types.js';

/** What the drain asks of the router. */
type DrainRouter = Pick<NatsLanes, 'liveness' | 'subjectFor' | 'durableFor'>;

/**
 * Messages published to the base subject whose delete then failed, remembered per drain so only
 * the delete is retried. Past the bound the oldest is forgotten: it may be published once more,
 * de-duplicated by its `Nats-Msg-Id` within the stream's duplicate window (2 min by default).
 */
const MAX_UNDELETED = 10_000;

/** What the default lane's consumer tells a user it may not do. */
const WHY_DRAIN =
  "the default lane's consumer drains the other lanes: it asks about their durable consumers " +
  '(JetStream API CONSUMER.INFO), reads what a dead lane left (STREAM.MSG.GET), publishes it to ' +
  'the base subject and deletes it (STREAM.MSG.DELETE)';

/**
 * The default lane's drain loop: moves each dead lane's messages to the base subject. The stream
 * is a work-queue one (`consume()` checked), so what is stored on a lane's subject is what its
 * consumer has not acked: an acked message is gone, never moved. A batch is
 * read first (direct get by subject, in stream order), then the lane is asked about again: back
 * by then, it keeps the whole batch — a message a producer routed to it after seeing it alive was
 * read before that question, which sees its consumer too (MQ-01). Still dead, each message is
 * published to the base subject with a `Nats-Msg-Id` (a repeated move is de-duplicated), then
 * deleted; a crash in between moves it again (at least once), never loses it, and a failed delete
 * is retried without publishing again. A lane the server cannot be asked about (`unknown`: its
 * last probe failed other than "consumer not found") is not known dead, and is left alone: it may
 * be holding those very messages.
 */
export function startNatsDrain(
  router: DrainRouter,
  options: NatsLanesOptions,
  create: NatsHeadersFactory,
  unknown: (lane: string) => boolean,
): DrainLoop {
  const { jsm, js, stream, subject } = options;
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const undeleted = new Set<string>();
  const move = async (stored: NatsStoredMsgLike, from: string): Promise<void> => {
    // A sequence alone could name another message in a stream deleted and made again.
    const key = `${stored.seq} ${stored.timestamp}`;
    if (!undeleted.has(key)) {
      const headers = copyHeaders(stored.header, create, (n) =>
        n.toLowerCase().startsWith('nats-'),
      );
      headers.set('x-graylane-drained-from', from);
      await js.publish(subject, stored.data, {
        headers,
        msgID: `graylane-drain-${stream}-${stored.seq}`,
      });
      undeleted.add(key);
      if (undeleted.size > MAX_UNDELETED)
        undeleted.delete(undeleted.values().next().value as string);
    }
    await unlessApiError(
      jsm.streams.deleteMessage(stream, stored.seq, false),
      JS_NO_MESSAGE_FOUND,
      () => false,
    );
    undeleted.delete(key);
  };
  return startDrain(
    drainLanes(options.lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        if (unknown(lane)) return false;
        const from = router.subjectFor(lane);
        const read: NatsStoredMsgLike[] = [];
        for (let seq = 0; read.length < batch;) {
          // STREAM.MSG.GET takes `next_by_subj` since nats-server 2.9; the typed request lacks it.
          const query = { next_by_subj: from, seq: seq + 1 } as unknown as { seq: number };
          const stored = await jsm.streams.getMessage(stream, query);
          if (stored === null) break;
          seq = stored.seq;
          read.push(stored);
        }
        if (read.length === 0 || (await router.liveness.recheck(lane)) || unknown(lane))
          return false;
        let moved = 0;
        try {
          for (const stored of read) {
            await move(stored, from);
            moved++;
          }
        } finally {
          countDrained(moved, lane);
        }
        return read.length === batch;
      },
    },
    options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
}

/**
 * Before the default lane's consumer starts: may its user do what the drain does? Each call is
 * harmless — the lanes' consumer info, a read, the delete of sequence 0 (which no stream holds) —
 * and a permission it lacks or an account without JetStream fails `consume()` naming what to
 * grant, instead of a drain that silently strands, or runs twice, what a dead lane left. (Publishing
 * to the base subject cannot be tried without a message: docs/queues.md lists it.)
 */
export async function checkNatsDrain(
  router: DrainRouter,
  options: NatsLanesOptions,
): Promise<void> {
  const { jsm, stream } = options;
  const where = 'createNatsLanes().consume';
  const lanes = drainLanes(options.lanes, options.retiredLanes)();
  for (const lane of lanes) {
    const info = jsm.consumers.info(stream, router.durableFor(lane));
    await natsCall(
      unlessApiError(info, JS_CONSUMER_NOT_FOUND, () => undefined),
      where,
      WHY_DRAIN,
    );
  }
  const first = lanes[0];
  if (first !== undefined) {
    const query = { next_by_subj: router.subjectFor(first), seq: 1 } as unknown as { seq: number };
    await natsCall(jsm.streams.getMessage(stream, query), where, WHY_DRAIN);
  }
  const zero = jsm.streams.deleteMessage(stream, 0, false);
  await natsCall(
    unlessApiError(zero, JS_NO_MESSAGE_FOUND, () => false),
    where,
    WHY_DRAIN,
  );
}
