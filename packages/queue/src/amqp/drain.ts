import type { ConfirmChannel, Message, Options } from 'amqplib';
import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { drainLanes } from '../routing/route.js';
import { propertiesOf, publishMandatory, reopening, type Published } from './channels.js';
import type { AmqpLanes, AmqpLanesOptions } from './lanes.js';

/**
 * The default lane's drain loop, on its own confirm channel: `basic.get` a batch from a dead
 * lane's queue (no consumer registered, so draining never looks like liveness), then ask again
 * whether the lane is alive, then republish each message to the base queue (`mandatory`) and
 * settle each by its own confirm — ack what the base queue took, `nack` with requeue what the
 * broker refused (a full base queue with `reject-publish`) or returned (the base queue is gone),
 * so such a message goes back to its lane and is never acked unmoved. A lane back by then gets
 * the whole batch back (`nack` with requeue; on a quorum queue a confirmed republish, MQ-22): a
 * message a producer routed to it after seeing it alive was taken before that question, which
 * sees its consumer too (MQ-01). Nothing is taken while the base queue is missing. A crash in
 * between redelivers (at least once), never loses. A full batch moved without refusals asks for
 * another at once.
 */
export function startAmqpDrain(router: AmqpLanes, options: AmqpLanesOptions): DrainLoop {
  const channel = reopening(() => options.connection.createConfirmChannel());
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const loop = startDrain(
    drainLanes(options.lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        const ch = await channel.get();
        const from = router.queueFor(lane);
        // Nothing is taken that would have to go back: on a quorum queue every give-back counts
        // as a delivery, and past its delivery limit (RabbitMQ 4: 20 by default) the broker drops
        // or dead-letters the message. So first, on this channel: the base queue is there (a 404
        // closes the channel, nothing taken) and the lane has no consumer.
        await ch.checkQueue(options.queue);
        if ((await ch.checkQueue(from)).consumerCount > 0) return false;
        const taken: Message[] = [];
        // What the broker counts as consumers while this channel holds gets: none on a classic
        // queue, one per message held on a quorum queue (RabbitMQ 3.10: each unsettled
        // `basic.get` holds a consumer slot). Measured after the first get, the count before it
        // having been 0.
        let perGet = 0;
        while (taken.length < batch) {
          const msg = await ch.get(from, { noAck: false });
          if (msg === false) break;
          taken.push(msg);
          if (taken.length === 1) perGet = Math.min(1, (await ch.checkQueue(from)).consumerCount);
        }
        if (taken.length === 0) return false;
        // The lane may have come back while the batch was taken, and producers may have routed
        // messages to it since (the last ones taken, past its backlog): those are its own. Its
        // consumer count on this channel is answered after every get above; more consumers than
        // this channel's own gets hold is a consumer back: the batch goes back to the lane.
        if ((await ch.checkQueue(from)).consumerCount > perGet * taken.length) {
          if (perGet === 0) settle(ch, taken, []);
          else {
            // A quorum queue counts a give-back as a delivery (past its limit it drops the
            // message), and another default consumer draining the lane at once looks like a
            // consumer back: the batch goes back as new messages (confirmed, then acked).
            const again = taken.map((msg) =>
              publishMandatory(ch, from, msg.content, republished(msg)),
            );
            settle(ch, taken, await Promise.all(again));
          }
          return false;
        }
        const confirms = taken.map((msg) =>
          publishMandatory(ch, options.queue, msg.content, republished(msg, from)),
        );
        const moved = settle(ch, taken, await Promise.all(confirms));
        countDrained(moved, lane);
        return taken.length === batch && moved === taken.length;
      },
    },
    options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
  return {
    tick: loop.tick,
    async stop() {
      await loop.stop();
      await channel.close();
    },
  };
}

/**
 * Acks each message the base queue took, requeues each one refused or returned (the base queue
 * is gone: acking it would drop it) or not published at all (no answer in `published`: its lane
 * is back); returns how many moved. Should the channel be closed meanwhile, the broker requeues
 * whatever is left unsettled itself.
 */
function settle(
  ch: ConfirmChannel,
  taken: readonly Message[],
  published: readonly Published[],
): number {
  let moved = 0;
  try {
    taken.forEach((msg, i) => {
      if (published[i]?.kind === 'routed') {
        ch.ack(msg);
        moved++;
      } else {
        ch.nack(msg, false, true);
      }
    });
  } catch {
    // IllegalOperationError: the channel closed; its unacked messages return to the lane.
  }
  return moved;
}

/**
 * The properties a drained message is republished with: everything it had (headers and marker
 * included) except `userId`, which RabbitMQ checks against the publishing connection's user, and
 * a quorum queue's `x-delivery-count`; a drain to the base queue records `from`.
 */
function republished(msg: Message, from?: string): Options.Publish {
  const props = propertiesOf(msg, ['userId']);
  // A quorum queue's count of this message's deliveries there is not the new message's to keep.
  const headers: Record<string, unknown> = { ...props.headers };
  delete headers['x-delivery-count'];
  if (from !== undefined) headers['x-graylane-drained-from'] = from;
  return { ...props, headers };
}
