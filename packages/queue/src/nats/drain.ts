import type { StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { drainLanes } from '../routing/route.js';
import { copyHeaders } from './carrier.js';
import type { NatsHeadersFactory } from './headers.js';
import type { NatsLanes, NatsLanesOptions } from './lanes.js';

/**
 * The default lane's drain loop: moves each dead lane's messages to the base subject. The stream
 * is a work-queue one (`consume()` checked), so what is stored on a lane's subject is what its
 * consumer has not acked: an acked message is gone, never moved. A batch is
 * read first (direct get by subject, in stream order), then the lane is asked about again: back
 * by then, it keeps the whole batch — a message a producer routed to it after seeing it alive was
 * read before that question, which sees its consumer too (MQ-01). Still dead, each message is
 * published to the base subject with a `Nats-Msg-Id` (a repeated move is de-duplicated), then
 * deleted; a crash in between moves it again (at least once), never loses it.
 */
export function startNatsDrain(
  router: NatsLanes,
  options: NatsLanesOptions,
  create: NatsHeadersFactory<MsgHdrs>,
): DrainLoop {
  const { jsm, js, stream, subject } = options;
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const move = async (stored: StoredMsg, from: string): Promise<void> => {
    const headers = copyHeaders(stored.header, create, (n) => n.toLowerCase().startsWith('nats-'));
    headers.set('x-graylane-drained-from', from);
    await js.publish(subject, stored.data, {
      headers,
      msgID: `graylane-drain-${stream}-${stored.seq}`,
    });
    await jsm.streams.deleteMessage(stream, stored.seq, false);
  };
  return startDrain(
    drainLanes(options.lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        const from = router.subjectFor(lane);
        const read: StoredMsg[] = [];
        for (let seq = 0; read.length < batch;) {
          // STREAM.MSG.GET takes `next_by_subj` since nats-server 2.9; the typed request lacks it.
          const query = { next_by_subj: from, seq: seq + 1 } as unknown as { seq: number };
          const stored = await jsm.streams.getMessage(stream, query);
          if (stored === null) break;
          seq = stored.seq;
          read.push(stored);
        }
        if (read.length === 0 || (await router.liveness.recheck(lane))) return false;
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
