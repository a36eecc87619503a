import type { ConfirmChannel, Message, Options } from 'amqplib';
import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrained } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { drainLanes } from '../routing/route.js';
import { propertiesOf, publishMandatory, reopening, type Published } from './channels.js';
import type { AmqpLanes, AmqpLanesOptions } from './lanes.js';

/**
 * The default lane's drain loop, on its own confirm channel: `basic.get` a batch from a dead
 * lane's queue (no consumer registered on a classic queue; a quorum queue counts held gets as
 * consumers, which this router's probe subtracts, MQ-22), then ask again
 * whether the lane is alive, then republish each message to the base queue (`mandatory`) and
 * settle each by its own confirm — ack what the base queue took, give back what the broker
 * refused (a full base queue with `reject-publish`) or returned (the base queue is gone: `nack`
 * with requeue on a classic lane queue, a confirmed republish on a quorum one),
 * so such a message goes back to its lane and is never acked unmoved. A lane back by then gets
 * the whole batch back (`nack` with requeue; on a quorum queue a confirmed republish, MQ-22): a
 * message a producer routed to it after seeing it alive was taken before that question, which
 * sees its consumer too (MQ-01). Nothing is taken while the base queue is missing. A crash in
 * between redelivers (at least once), never loses. A full batch moved without refusals asks for
 * another at once. One drain holds a quorum lane at a time: one that finds another's gets steps
 * back (MQ-22).
 */
export function startAmqpDrain(
  router: AmqpLanes,
  options: AmqpLanesOptions,
  shared: RouterDrains,
): DrainLoop {
  const { holds, busy, kinds } = shared;
  const type = options.queueOptions?.arguments?.['x-queue-type'] as unknown;
  // Declared so by `setup()`: a quorum queue counts held gets, a classic one does not.
  const declared = type === 'quorum' ? true : type === 'classic' ? false : undefined;
  const channel = reopening(() => options.connection.createConfirmChannel());
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const intervalMs = options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS;
  // Lanes this drain stepped back from for another one draining them, until when (see below);
  // the tick that tries again then runs at that moment, not in step with the other drains' ticks.
  const backoff = new Map<string, number>();
  const retries = new Set<ReturnType<typeof setTimeout>>();
  /** Set by `stop()`: nothing more is taken, whatever tick is still running. */
  let stopped = false;
  const stepBack = (lane: string): false => {
    const pause = Math.random() * 2 * intervalMs;
    backoff.set(lane, performance.now() + pause);
    const timer = setTimeout(() => {
      retries.delete(timer);
      void loop.tick();
    }, pause + 1);
    timer.unref?.();
    retries.add(timer);
    return false;
  };
  const loop = startDrain(
    drainLanes(options.lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        // Stopped while this tick asked about the lane: its consumer has ended (review 149 D3).
        if (stopped) return false;
        if (performance.now() < (backoff.get(lane) ?? 0)) return false;
        backoff.delete(lane);
        const from = router.queueFor(lane);
        // Another default consumer of this router is draining the lane: one is enough.
        if (busy.has(from)) return false;
        busy.add(from);
        try {
          return await drainOnce(lane, from);
        } finally {
          busy.delete(from);
        }
      },
    },
    intervalMs,
  );

  /** One batch from `lane`'s queue `from`; true when a full batch moved and more may wait. */
  async function drainOnce(lane: string, from: string): Promise<boolean> {
    const ch = await channel.get();
    const consumers = async (): Promise<number> => (await ch.checkQueue(from)).consumerCount;
    // Nothing is taken that would have to go back: on a quorum queue every give-back counts
    // as a delivery, and past its delivery limit (RabbitMQ 4: 20 by default) the broker drops
    // or dead-letters the message. So first, on this channel: the base queue is there (a 404
    // closes the channel, nothing taken) and the lane has no consumer.
    await ch.checkQueue(options.queue);
    if ((await consumers()) > 0 || stopped) return false;
    const taken: Message[] = [];
    // Whether the broker counts the gets this channel holds as consumers of the lane: not on a
    // classic queue; on a quorum queue one per message held (RabbitMQ 3.10: each unsettled
    // `basic.get` holds a consumer slot). Known from the router's `queueOptions` or learned on
    // an earlier batch; else learned here, from the counts after the first gets (the count
    // before them having been 0). What it counts is recorded in `holds`, so this router's own
    // liveness probe does not take this drain for the lane's consumer.
    let counted = kinds.get(from) ?? declared;
    const held = holding(holds, from);
    const learn = (value: boolean): void => {
      counted = value;
      kinds.set(from, value);
      if (!value) held.release();
    };
    const perGet = (): number => (counted === false ? 0 : 1);
    try {
      let first = 0;
      // Known not to count gets, and a consumer counted after the first one.
      let backBeforeFirstGet = false;
      while (taken.length < batch) {
        const msg = await ch.get(from, { noAck: false });
        if (msg === false) break;
        taken.push(msg);
        // Counted once the broker has answered (before, a probe would subtract a get it does
        // not count yet, and miss a consumer).
        if (counted === true) held.add(1);
        if (taken.length === 1) {
          first = await consumers();
          // Nothing counts this get: not a queue that counts gets (one deleted and declared anew
          // as a classic queue too). A 1 is a quorum queue's count of this get, or a classic
          // queue's consumer back before it — or a classic queue declared anew as quorum: the
          // next get tells which (until then nothing is subtracted: a probe says alive, which
          // only delays). With a single message on a queue not known to be classic the two read
          // the same, and it moves.
          if (first === 0) {
            if (counted !== false) learn(false);
          } else if (counted === false) {
            counted = undefined;
            backBeforeFirstGet = true;
          }
          if (first > perGet()) {
            // Someone else holds the lane too: a consumer back, or another default consumer
            // (the stable service scaled out) that took a get in the same instant. The message
            // goes back as a new one (a `nack` would count against a quorum queue's delivery
            // limit). One drain at a time per quorum lane: this one steps back and tries again
            // after a random pause, so two that collided do not collide again in step.
            await giveBack(ch, from, taken, 1);
            return stepBack(lane);
          }
        } else if (counted === undefined) {
          const now = await consumers();
          if (now === first + taken.length - 1) {
            learn(true);
            held.add(taken.length);
          } else if (now === first) {
            // Not counted: a classic queue whose consumer is back (the 1 after the first get) —
            // or a quorum queue where another drain let go of a get meanwhile. Either way the
            // lane is not this drain's now; the messages go back as new ones (a `nack` would
            // count against a quorum queue's delivery limit), and nothing is learned.
            await giveBack(ch, from, taken, 1);
            return false;
          }
        }
      }
      if (taken.length === 0) return false;
      if (backBeforeFirstGet && counted === undefined) {
        // One message, or counts that say nothing: the lane's consumer is back.
        await giveBack(ch, from, taken, 1);
        return false;
      }
      // The lane may have come back while the batch was taken, and producers may have routed
      // messages to it since (the last ones taken, past its backlog): those are its own. Its
      // consumer count on this channel is answered after every get above; more consumers
      // than this channel's own gets hold is a consumer back: the batch goes back to the
      // lane. A count below the gets held says the queue counts none (a classic queue whose
      // consumer came back before the first get; with one message taken the two read the
      // same, and it moves).
      let count = 0;
      const over = async (): Promise<number> => {
        count = await consumers();
        if (counted !== true && count < taken.length) {
          counted = false;
          held.release();
        }
        return count - perGet() * taken.length;
      };
      let extra = await over();
      // Another default consumer that stepped back holds its one get for a moment; a consumer
      // back stays. So on a quorum queue the count is asked again a few times before a batch
      // goes back (a give-back there is a republish of the whole batch to the lane's tail).
      for (const ms of RECHECKS_MS) {
        if (extra <= 0 || counted === false) break;
        await sleep(ms);
        extra = await over();
      }
      if (extra > 0) {
        await giveBack(ch, from, taken, perGet());
        return counted === false ? false : stepBack(lane);
      }
      const confirms = taken.map((msg) =>
        publishMandatory(ch, options.queue, msg.content, republished(msg, from)),
      );
      const published = await Promise.all(confirms);
      // What the base queue refused (full, `reject-publish`) or returned stays the lane's: on a
      // queue that may count deliveries (quorum) it goes back as new messages, never by `nack`,
      // which past `x-delivery-limit` would drop it.
      const refused = perGet() > 0 ? taken.filter((_, i) => published[i]?.kind !== 'routed') : [];
      const moved = settle(ch, taken, published, refused.length > 0);
      if (refused.length > 0) await giveBack(ch, from, refused, 1);
      countDrained(moved, lane);
      // The acks reach a quorum queue's count some ms later (measured 2–12 ms, 400 ms on a
      // slow disk): until then the broker, and this router's next probe, asked at once for the
      // next batch, still count them. Held that long, they are still subtracted; a count that
      // grew instead is someone else (the lane's consumer back: the next question sees it).
      const own = perGet() * taken.length;
      for (const ms of own > 0 ? SETTLE_MS : []) {
        const now = await consumers();
        if (now <= count - own || now > count) break;
        await sleep(ms);
      }
      return taken.length === batch && moved === taken.length;
    } finally {
      held.release();
    }
  }

  return {
    tick: loop.tick,
    async stop() {
      stopped = true;
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      await loop.stop();
      await channel.close();
    },
  };
}

/** What the drains of one router (one per default-lane consumer it runs) share. */
export interface RouterDrains {
  /**
   * How many consumers the broker counts for these drains, per lane queue: one per `basic.get`
   * a drain holds on a quorum queue (none on a classic one). The router's liveness probe
   * subtracts them: a drain is never a lane's consumer.
   */
  readonly holds: Map<string, number>;
  /** The lane queues one of them is draining now: the others leave those alone. */
  readonly busy: Set<string>;
  /** Per lane queue, whether the broker counts held gets as its consumers (learned). */
  readonly kinds: Map<string, boolean>;
}

type Holds = RouterDrains['holds'];

function holding(holds: Holds, queue: string): { add(n: number): void; release(): void } {
  let mine = 0;
  return {
    add(n) {
      if (n === 0) return;
      mine += n;
      holds.set(queue, (holds.get(queue) ?? 0) + n);
    },
    release() {
      const left = (holds.get(queue) ?? 0) - mine;
      mine = 0;
      if (left > 0) holds.set(queue, left);
      else holds.delete(queue);
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits between the questions a quorum drain asks before giving a batch back or after moving it
 * (ms): long enough for another drain's one-message give-back (a confirmed publish and an ack) or
 * for its own acks to reach the count, short against a consumer that is back to stay.
 */
const RECHECKS_MS = [0, 10, 20, 40, 80] as const;

/** Waits for a moved batch's acks to reach the count (ms): about 1.3 s at most. */
const SETTLE_MS = [0, 10, 20, 40, 80, 160, 320, 640] as const;

/**
 * Gives a taken batch back to its lane: with `nack` and requeue where gets are not counted as
 * consumers (`perGet` 0: a classic queue), else as new messages, confirmed, then acked — a quorum
 * queue counts every `nack` as a delivery and past its limit drops the message.
 */
async function giveBack(
  ch: ConfirmChannel,
  lane: string,
  taken: readonly Message[],
  perGet: number,
): Promise<void> {
  if (perGet === 0) {
    settle(ch, taken, []);
    return;
  }
  const again = taken.map((msg) => publishMandatory(ch, lane, msg.content, republished(msg)));
  settle(ch, taken, await Promise.all(again));
}

/**
 * Acks each message the base queue took, requeues each one refused or returned (the base queue
 * is gone: acking it would drop it) or not published at all (no answer in `published`: its lane
 * is back) — or, with `keep`, leaves those unsettled for the caller to give back; returns how
 * many moved. Should the channel be closed meanwhile, the broker requeues whatever is left
 * unsettled itself.
 */
function settle(
  ch: ConfirmChannel,
  taken: readonly Message[],
  published: readonly Published[],
  keep = false,
): number {
  let moved = 0;
  try {
    taken.forEach((msg, i) => {
      if (published[i]?.kind === 'routed') {
        ch.ack(msg);
        moved++;
      } else if (!keep) {
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
 * included) except `userId`, which RabbitMQ checks against the publishing connection's user, a
 * quorum queue's `x-delivery-count`, and `CC`/`BCC` (left out by {@link propertiesOf}); a drain
 * to the base queue records `from`.
 */
function republished(msg: Message, from?: string): Options.Publish {
  const props = propertiesOf(msg, ['userId']);
  // A quorum queue's count of this message's deliveries there is not the new message's to keep.
  const headers: Record<string, unknown> = { ...props.headers };
  delete headers['x-delivery-count'];
  if (from !== undefined) headers['x-graylane-drained-from'] = from;
  return { ...props, headers };
}
