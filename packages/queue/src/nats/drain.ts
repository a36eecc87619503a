import { GraylaneError } from '@graylane/core';
import { DEFAULT_DRAIN_BATCH, DEFAULT_DRAIN_INTERVAL_MS } from '../limits.js';
import { countDrainError, countDrained, countMaxDeliveriesLeft } from '../metrics/stats.js';
import { startDrain, type DrainLoop } from '../routing/drain.js';
import { drainLanes } from '../routing/route.js';
import { copyHeaders } from './carrier.js';
import {
  JS_CONSUMER_NOT_FOUND,
  JS_GET_NO_MESSAGE,
  JS_NO_MESSAGE_FOUND,
  jsApiCode,
  natsCall,
  pushDurable,
  unlessApiError,
} from './errors.js';
import { laneFilterRefusal, laneFilterTarget } from './filter.js';
import type { NatsHeadersFactory, NatsHeadersLike } from './headers.js';
import type { NatsLanes, NatsLanesOptions } from './lanes.js';
import { DRAINED_FROM, drainId, handBackId, isNatsHeader, tooLarge } from './republish.js';
import type {
  NatsConsumerInfoLike,
  NatsConsumerLike,
  NatsPulledMsgLike,
  NatsStoredMsgLike,
} from './types.js';
import type { LaneLook, LaneWatch } from './watch.js';

/** Messages the drain could not move and already reported (so each is reported once). */
const MAX_REPORTED = 1_000;

/**
 * Runs a pulled message the drain cannot publish (too large for any copy with a `Nats-Msg-Id`)
 * in the default lane's own handler; resolves once that handler settled.
 */
export type RunHere = (msg: NatsPulledMsgLike) => Promise<unknown>;

/** What the drain asks of the router. */
type DrainRouter = Pick<NatsLanes, 'liveness' | 'subjectFor' | 'durableFor'>;

/**
 * Messages published to the base subject whose delete (or ack) then failed, remembered per drain
 * so only the delete (ack) is retried. Past the bound the oldest is forgotten: it may be published
 * once more, de-duplicated by its `Nats-Msg-Id` within the stream's duplicate window (2 min by
 * default).
 */
const MAX_UNDELETED = 10_000;

/** How long a pull request of the drain may wait for messages: the least both clients allow. */
const PULL_EXPIRES_MS = 1_000;

/**
 * How long the drain stops pulling to tell a lane consumer that came back (it goes on taking the
 * lane's messages) from another default-lane consumer draining the same lane (it stops too).
 */
const QUIET_MS = 100;

/** After a pull that never reached the server (no permission), how long to move by direct get. */
const DENIED_RETRY_MS = 60_000;

/**
 * After a pull for what the durable might hand out again came back empty (it waited
 * {@link PULL_EXPIRES_MS} for nothing: a dead consumer's messages are held until their
 * `ack_wait`, or the delay it nak'd them with, runs out), how long before asking again.
 */
const HANDED_BACK_RETRY_MS = 5_000;

/** What the default lane's consumer tells a user it may not do. */
const WHY_DRAIN =
  "the default lane's consumer drains the other lanes: it asks about their durable consumers " +
  '(JetStream API CONSUMER.INFO), pulls what a dead lane left through its durable ' +
  '(CONSUMER.MSG.NEXT) or, for a lane without one, reads it (STREAM.MSG.GET), publishes it to ' +
  'the base subject and deletes it (STREAM.MSG.DELETE)';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * How many messages to ask a dead lane's durable for: what it has not delivered yet (up to its
 * `max_ack_pending`, less what this router's open pulls may still take); when there is none, what
 * it delivered and nobody acked, less what this router holds. Those come only if the durable hands
 * them out again (`ack_wait` passed, or their consumer gave them back with a nak): then, before
 * anything new. Never more than `batch`.
 */
function wanted(
  info: NatsConsumerInfoLike,
  look: LaneLook,
  held: number,
  batch: number,
): { readonly count: number; readonly handedBack: boolean } {
  const pending = Math.max(0, (info.num_pending ?? 0) - look.messages);
  const unacked = info.num_ack_pending ?? 0;
  const max = info.config?.max_ack_pending ?? 0;
  const fresh = max > 0 ? Math.min(pending, Math.max(0, max - unacked)) : pending;
  if (fresh > 0) return { count: Math.min(batch, fresh), handedBack: false };
  return { count: Math.min(batch, Math.max(0, unacked - held)), handedBack: true };
}

/**
 * Whether the durable may hold a message it gave up on (delivered `max_deliver` times): it has a
 * delivery limit, and a redelivery count it keeps (nats-server keeps one for each such message
 * until it is acked or removed).
 */
const mayHaveGivenUp = (info: NatsConsumerInfoLike): boolean =>
  (info.config?.max_deliver ?? 0) > 0 && (info.num_redelivered ?? 0) > 0;

/**
 * Adds `key` to `set`, dropping the oldest entry past `max`; true when it was not there (a set of
 * keys seen once, bounded).
 */
function addBounded(set: Set<string>, key: string, max: number): boolean {
  if (set.has(key)) return false;
  set.add(key);
  if (set.size > max) set.delete(set.values().next().value as string);
  return true;
}

/** A stored message: its sequence alone could name another one in a stream deleted and made again. */
const keyOf = (seq: number, storedAtMs: number): string => `${seq} ${storedAtMs}`;

/** The durable's `ack_wait` in ms (the server's default, 30 s, when not told). */
const ackWaitMs = (info: NatsConsumerInfoLike): number => (info.config?.ack_wait ?? 30e9) / 1e6;

/**
 * The default lane's drain loop: moves each dead lane's messages to the base subject. The stream
 * is a work-queue one (`consume()` checked), so what is stored on a lane's subject is what its
 * consumer has not acked: an acked message is gone, never moved.
 *
 * The drain takes a message before it moves it, so each message runs on one lane only. What the
 * lane's durable has not delivered yet is pulled through the durable itself: the server's
 * delivery bookkeeping decides between the drain and a lane consumer that comes back — a message
 * delivered to the drain is held (ack pending) and goes to no one else, one delivered to the lane's
 * consumer never reaches the drain. (A direct get hides nothing from the durable: the drain that
 * read a batch and then published and deleted it message by message ran whatever the returning
 * consumer was handed meanwhile twice.) Then the lane is asked about again: a consumer waiting
 * there gets the whole batch back (published to the lane's subject again, then acked: a nak would
 * spend the durable's `max_deliver` and mark the message redelivered, MQ-35), so a message a
 * producer routed to it after seeing it alive is never run here (MQ-01). Still dead, each message
 * is published to the base subject with a `Nats-Msg-Id` (a repeated move, or the move of a
 * message and of its hand-back copy, is de-duplicated), then acked, within half the durable's
 * `ack_wait` (the rest is handed back); a crash in between leaves it held until `ack_wait`, then
 * redelivered (at least once), never lost, and a failed ack is retried without publishing again.
 * A message no copy with a `Nats-Msg-Id` fits (too large) never holds up the others: pulled, it
 * runs in the default lane's own handler; read by direct get, it stays (MQ-34). Deliveries to anyone else while the batch was out (another
 * default-lane consumer draining too, or the lane's consumer back with a backlog) make the drain
 * stop pulling for {@link QUIET_MS}: if the durable keeps being pulled, it is the lane's consumer,
 * and the drain stops.
 *
 * What a dead consumer was handed and never acked is the durable's to hand out again: when its
 * `ack_wait` runs out, or the delay its consumer nak'd it with (at once for a plain nak). It is
 * pulled like the rest then, first, and never read by direct get: no consumer info says when a
 * nak delay runs out, and a consumer coming back then would be handed what the drain was moving
 * (MQ-42, see `leftovers`). Only what the durable will never hand out again is read so.
 *
 * A lane whose durable has another lane's filter is not drained, and is reported as
 * `INVALID_OPTIONS` on every pass (MQ-43): pulled, it would hand out another subject's messages.
 *
 * A lane with no durable (deleted) cannot be pulled, and nothing can deliver its messages: they
 * are read by direct get, published and deleted. So are a lane's messages when its pull never
 * reached the server (a NATS user without `CONSUMER.MSG.NEXT` on the lane's durable), which then
 * keeps the old race: a lane consumer coming back in the middle of a batch may run a message the
 * drain also moves. A lane the server cannot be asked about (`unknown`: its last probe failed
 * other than "consumer not found") is not known dead, and is left alone: it may be holding those
 * very messages.
 */
export function startNatsDrain(
  router: DrainRouter,
  options: NatsLanesOptions,
  create: NatsHeadersFactory,
  unknown: (lane: string) => boolean,
  watch: LaneWatch,
  runHere: RunHere,
): DrainLoop {
  const { jsm, js, stream, subject } = options;
  const batch = options.drainBatch ?? DEFAULT_DRAIN_BATCH;
  const undeleted = new Set<string>();
  const consumers = new Map<string, Promise<NatsConsumerLike>>();
  const denied = new Map<string, number>();
  const emptied = new Map<string, number>();
  const passing = new Set<string>();
  /** Messages counted in `maxDeliveriesLeft` (each once), and each lane's state when last counted. */
  const givenUp = new Set<string>();
  const givenUpLook = new Map<string, string>();

  const remember = (key: string): void => void addBounded(undeleted, key, MAX_UNDELETED);
  const reported = new Set<string>();
  /** A message the drain cannot move: counted and reported once (the lane's others still move). */
  const report = (key: string, lane: string, seq: number, why: string): void => {
    if (!addBounded(reported, key, MAX_REPORTED)) return;
    countDrainError();
    const err = new GraylaneError(
      'INVALID_OPTIONS',
      `createNatsLanes drain: message ${seq} of lane ${JSON.stringify(lane)} (stream ` +
        `${JSON.stringify(stream)}) is too large to publish with a Nats-Msg-Id: ${why}`,
    );
    try {
      options.onDrainError?.(err, lane);
    } catch {
      // A throwing error hook never stops the drain.
    }
  };
  /**
   * Publishes a copy of a stored message: to the base subject with `x-graylane-drained-from`,
   * then, when that is too large, without it. Always with a `Nats-Msg-Id` (a repeated move is
   * de-duplicated). `false`: too large even so (nothing was published).
   */
  const publish = async (
    data: Uint8Array,
    header: NatsHeadersLike | undefined,
    seq: number,
    from: string,
  ): Promise<boolean> => {
    const msgID = drainId(stream, seq, header);
    for (const marked of [true, false]) {
      const headers = copyHeaders(header, create, isNatsHeader);
      if (marked) headers.set(DRAINED_FROM, from);
      try {
        await js.publish(subject, data, { headers, msgID });
        return true;
      } catch (err) {
        if (!tooLarge(err)) throw err;
      }
    }
    return false;
  };
  const enter = (lane: string): void => {
    if (passing.has(lane)) return;
    passing.add(lane);
    watch.passing(lane, true);
  };
  const leave = (lane: string): void => {
    if (!passing.delete(lane)) return;
    watch.passing(lane, false);
  };

  /** The lane's durable as a pull consumer; `undefined` when it is gone. */
  const consumerOf = async (lane: string): Promise<NatsConsumerLike | undefined> => {
    let got = consumers.get(lane);
    if (got === undefined) {
      got = js.consumers.get(stream, router.durableFor(lane));
      consumers.set(lane, got);
    }
    try {
      return await got;
    } catch (err) {
      consumers.delete(lane);
      if (jsApiCode(err) === JS_CONSUMER_NOT_FOUND) return undefined;
      const durable = router.durableFor(lane);
      throw (await pushDurable(jsm, stream, durable, 'createNatsLanes drain', err)) ?? err;
    }
  };

  /** One pull request for up to `want` messages; what it delivered, and how it ended. */
  const pull = async (consumer: NatsConsumerLike, lane: string, want: number) => {
    const own = watch.pull(lane, want);
    const got: NatsPulledMsgLike[] = [];
    try {
      const fetch = consumer.fetch as NonNullable<NatsConsumerLike['fetch']>;
      const messages = await fetch.call(consumer, { max_messages: want, expires: PULL_EXPIRES_MS });
      for await (const m of messages) {
        own.got();
        watch.hold(lane, m.seq, true);
        got.push(m);
        if (got.length >= want) break;
      }
      return { got, error: undefined };
    } catch (error) {
      return { got, error };
    } finally {
      own.end();
    }
  };

  /**
   * After a pull that got nothing: did it reach the server? Messages waited, none went to anyone
   * and the durable was not at its `max_ack_pending`: the request was dropped (a permissions
   * violation is reported to the connection, not to the pull).
   */
  const neverArrived = async (lane: string, before: LaneLook): Promise<boolean> => {
    if (before.info === undefined) return false;
    const info = await jsm.consumers.info(stream, router.durableFor(lane)).catch(() => undefined);
    if (info === undefined) return false;
    const max = info.config?.max_ack_pending ?? 0;
    return (
      info.delivered.consumer_seq === before.info.delivered.consumer_seq &&
      (info.num_pending ?? 0) > 0 &&
      !(max > 0 && (info.num_ack_pending ?? 0) >= max)
    );
  };

  /**
   * Back to the lane: each message is published to the lane's subject again (a `Nats-Msg-Id`
   * de-duplicates a repeated hand-back), then acked — never nak'd, which would spend one of the
   * durable's delivery attempts (`max_deliver`) and reach the lane's consumer as redelivered
   * although no handler ran it. Only a copy the lane's subject refuses (too large, the stream
   * full) is nak'd. A failed ack leaves the message held: when the durable hands it out again it
   * is acked, not copied again (`undeleted`).
   */
  const handBack = async (lane: string, msgs: readonly NatsPulledMsgLike[]): Promise<void> => {
    if (msgs.length > 0) emptied.delete(lane);
    const to = router.subjectFor(lane);
    const one = async (m: NatsPulledMsgLike): Promise<void> => {
      const key = keyOf(m.seq, Math.floor(m.info.timestampNanos / 1e6));
      if (!undeleted.has(key)) {
        const headers = copyHeaders(m.headers, create, isNatsHeader);
        const msgID = handBackId(stream, m.seq, m.headers);
        const copied = await js.publish(to, m.data, { headers, msgID }).then(
          () => true,
          () => false,
        );
        if (!copied) return m.nak();
        remember(key);
      }
      if (await m.ackAck().catch(() => false)) undeleted.delete(key);
    };
    // Published in pull order (the client sends them in call order), behind what producers sent
    // the lane meanwhile.
    await Promise.all(msgs.map((m) => one(m).finally(() => watch.hold(lane, m.seq, false))));
  };

  /**
   * Publishes what the drain holds to the base subject, then acks it on the lane's durable; what
   * it could not move by `deadline` (a slow base subject: the durable would hand it out again at
   * `ack_wait`) or at all (the base subject refused) goes back to the durable at once.
   */
  const moveHeld = async (
    held: readonly NatsPulledMsgLike[],
    lane: string,
    deadline: number,
  ): Promise<number> => {
    const from = router.subjectFor(lane);
    let moved = 0;
    const acks: Promise<unknown>[] = [];
    try {
      for (const m of held) {
        if (Date.now() > deadline) break;
        const key = keyOf(m.seq, Math.floor(m.info.timestampNanos / 1e6));
        if (!undeleted.has(key) && !(await publish(m.data, m.headers, m.seq, from))) {
          // No copy with a Nats-Msg-Id fits: the default lane's handler runs the message itself
          // (its ack acks it on the lane's durable), held until that handler settles.
          report(key, lane, m.seq, "it runs in the default lane's consumer instead");
          void runHere(m)
            .catch(() => undefined)
            .finally(() => watch.hold(lane, m.seq, false));
          moved++;
          continue;
        }
        if (!undeleted.has(key)) remember(key);
        // A failed ack leaves the message held until `ack_wait`, then redelivered: to this drain
        // it is acked again, not published again.
        const ack = m.ackAck().then(
          () => undeleted.delete(key),
          () => undefined,
        );
        acks.push(ack.finally(() => watch.hold(lane, m.seq, false)));
        moved++;
      }
    } finally {
      await handBack(lane, held.slice(moved));
      await Promise.all(acks);
      countDrained(moved, lane);
    }
    return moved;
  };

  /** A fresh look at the lane (through the router's liveness, so producers share it). */
  const lookAgain = async (lane: string): Promise<LaneLook | undefined> => {
    if (await router.liveness.recheck(lane)) return undefined;
    const look = watch.last(lane);
    return unknown(lane) || look?.info === undefined ? undefined : look;
  };

  /** Pulls one batch of a dead lane through its durable and moves it; how many, and if more wait. */
  const pullAndMove = async (
    lane: string,
    consumer: NatsConsumerLike,
    first: LaneLook,
  ): Promise<{ readonly moved: number; readonly more: boolean } | 'denied'> => {
    const none = { moved: 0, more: false };
    let look: LaneLook | undefined = first;
    if (!look.baselined && !watch.inPass(lane)) {
      // The first look at this durable: whether its deliveries advance (a lane consumer busy with
      // every pull filled) takes a second one.
      await sleep(QUIET_MS);
      look = await lookAgain(lane);
      if (look === undefined || look.moved > 0) return none;
    }
    const info = look.info as NatsConsumerInfoLike;
    const want = wanted(info, look, watch.held(lane).size, batch);
    if (want.count === 0 || (want.handedBack && (emptied.get(lane) ?? 0) > Date.now())) return none;
    enter(lane);
    const pulledAt = Date.now();
    const { got, error } = await pull(consumer, lane, want.count);
    if (got.length === 0) {
      leave(lane);
      if (want.handedBack) emptied.set(lane, Date.now() + HANDED_BACK_RETRY_MS);
      if (await neverArrived(lane, look)) return 'denied';
      if (error !== undefined) throw error;
      return none;
    }
    // Back while the pull was out, and waiting for messages: the lane's consumer gets the batch.
    const after = await lookAgain(lane).catch(async (err: unknown) => {
      await handBack(lane, got);
      throw err;
    });
    if (after === undefined || watch.waiting(after) > 0) {
      // No longer a pass: while the copies go out, deliveries to the lane's consumer show it alive.
      leave(lane);
      await handBack(lane, got);
      return none;
    }
    const count = await moveHeld(got, lane, pulledAt + ackWaitMs(info) / 2);
    const moved = { moved: count, more: false };
    if (watch.others(look, after) > 0) {
      // Someone else pulled the durable meanwhile: another drain, or the lane's consumer back
      // with a backlog (its pulls are filled at once, so none waits). Pull nothing for a moment.
      const quiet = await lookAgain(lane);
      if (quiet === undefined) return moved;
      await sleep(QUIET_MS);
      const later = await lookAgain(lane);
      if (later === undefined || watch.others(quiet, later) > 0) return moved;
    }
    if (error !== undefined) throw error;
    return { moved: count, more: count === batch };
  };

  /**
   * A lane read by direct get (in stream order), published and deleted: see above for when; how
   * many it moved. With `only`, the messages up to sequence `upTo` that `take` accepts (a dead
   * consumer's unacked ones, while no one else can be handed them), asked again before each move.
   */
  const readAndMove = async (
    lane: string,
    only?: { from?: number; upTo: number; take: (stored: NatsStoredMsgLike) => boolean },
  ): Promise<number> => {
    const from = router.subjectFor(lane);
    const read: NatsStoredMsgLike[] = [];
    for (let seq = only?.from ?? 0; read.length < batch;) {
      // STREAM.MSG.GET takes `next_by_subj` since nats-server 2.9; the typed request lacks it.
      const query = { next_by_subj: from, seq: seq + 1 } as unknown as { seq: number };
      const stored = await unlessApiError(
        jsm.streams.getMessage(stream, query),
        JS_GET_NO_MESSAGE,
        () => null,
      );
      if (stored === null || (only !== undefined && stored.seq > only.upTo)) break;
      seq = stored.seq;
      if (only === undefined || only.take(stored)) read.push(stored);
    }
    // A message a producer routed to the lane after seeing it alive was read before this question,
    // which sees its consumer too (MQ-01): back by now, the lane keeps the whole batch.
    if (read.length === 0 || (await router.liveness.recheck(lane)) || unknown(lane)) return 0;
    let moved = 0;
    try {
      for (const stored of read) {
        if (only !== undefined && !only.take(stored)) continue;
        const key = keyOf(stored.seq, Date.parse(stored.timestamp));
        if (!undeleted.has(key)) {
          if (!(await publish(stored.data, stored.header, stored.seq, from))) {
            // Left where it is; the others move. A dead consumer's leftover is pulled (and run
            // by the default lane's handler) once its durable hands it out again.
            report(key, lane, stored.seq, 'it stays on the lane');
            continue;
          }
          remember(key);
        }
        await unlessApiError(
          jsm.streams.deleteMessage(stream, stored.seq, false),
          JS_NO_MESSAGE_FOUND,
          () => false,
        );
        undeleted.delete(key);
        moved++;
      }
    } finally {
      countDrained(moved, lane);
    }
    // Only what moved makes room: a batch of messages left where they are is no reason to ask again.
    return moved > 0 ? read.length : 0;
  };

  /**
   * What is stored on a dead lane's subject at or below its durable's last delivered sequence
   * while the durable holds nothing unacked (`num_ack_pending` 0): messages it will never hand out
   * again — one back after a hard server crash lost its removal (the durable took it as acked), or
   * one it gave up on (below) — read by direct get. A message some consumer was handed and never
   * acked is never read so (MQ-42): the durable hands it out again when its `ack_wait` runs out, at
   * once after a nak, or when the delay its consumer nak'd it with runs out (often well before
   * `ack_wait`), and no consumer info tells which or when. A direct get hides nothing from the
   * durable: the drain that moved such a message by direct get while its nak delay ran out ran it
   * twice, once on the lane's consumer that came back then. It is pulled once the durable hands it
   * out again (see `wanted`): the server gives it to the drain or to that consumer, never both.
   *
   * A message the durable gave up on (delivered `max_deliver` times, never acked) is stored there
   * too, but no longer pending: nats-server drops it from the durable's pending set (and sends the
   * `MAX_DELIVERIES` advisory) when it would deliver it once more, and keeps its delivery count
   * until it is acked or removed, counted in `num_redelivered`. It belongs to the app's own
   * dead-letter handling and is never moved: while the durable may hold one (`max_deliver` set and
   * `num_redelivered` above zero), nothing is taken here — what nobody holds (given up, or a
   * message back after a crash lost its removal, which cannot be told apart then) stays, counted
   * once in `maxDeliveriesLeft`.
   */
  const leftovers = async (lane: string): Promise<number> => {
    const look = await lookAgain(lane);
    const info = look?.info;
    if (look === undefined || info === undefined || !look.baselined || look.moved > 0) return 0;
    // Someone holds a message (this drain's own pulls included): the durable may hand it out again.
    if ((info.num_ack_pending ?? 0) > 0) return 0;
    const held = watch.held(lane);
    const upTo = info.delivered.stream_seq ?? 0;
    if (mayHaveGivenUp(info)) {
      const state = `${upTo} ${info.num_redelivered ?? 0}`;
      if (givenUpLook.get(lane) === state) return 0;
      givenUpLook.set(lane, state);
      const count = (stored: NatsStoredMsgLike): boolean => {
        const key = keyOf(stored.seq, Date.parse(stored.timestamp));
        if (!held.has(stored.seq) && addBounded(givenUp, key, MAX_REPORTED))
          countMaxDeliveriesLeft();
        return false;
      };
      return readAndMove(lane, { upTo, take: count });
    }
    return readAndMove(lane, { upTo, take: (stored) => !held.has(stored.seq) });
  };

  const loop = startDrain(
    drainLanes(options.lanes, options.retiredLanes),
    router.liveness,
    {
      async onDead(lane) {
        let more = false;
        // Read by direct get. While the durable may hold a message it gave up on, only what it
        // never delivered: what it gave up on stays (see `leftovers`).
        const direct = async (info?: NatsConsumerInfoLike) => {
          const after = info !== undefined && mayHaveGivenUp(info);
          const only = after
            ? { from: info.delivered.stream_seq ?? 0, upTo: Infinity, take: () => true }
            : undefined;
          return (more = (await readAndMove(lane, only)) === batch);
        };
        try {
          const look = watch.last(lane);
          if (unknown(lane) || look === undefined) return false;
          // No durable: nothing can deliver the lane's messages to anyone else.
          if (look.info === undefined) return await direct();
          // One with another lane's filter: its pulls are not this lane's messages (MQ-43).
          const target = laneFilterTarget(router, stream, lane, options.lanes.config().versions);
          const refusal = laneFilterRefusal(look.info, target, 'createNatsLanes drain');
          if (refusal !== undefined) throw refusal;
          if ((denied.get(lane) ?? 0) > Date.now()) return await direct(look.info);
          const consumer = await consumerOf(lane);
          if (consumer === undefined) return false;
          if (consumer.fetch === undefined) return await direct(look.info);
          const wasPassing = watch.inPass(lane);
          const result = await pullAndMove(lane, consumer, look);
          if (result === 'denied') {
            denied.set(lane, Date.now() + DENIED_RETRY_MS);
            return await direct(look.info);
          }
          if (result.moved > 0 || wasPassing) return (more = result.more);
          // Nothing the durable would hand out: what a dead consumer still holds, if anything.
          return (more = (await leftovers(lane)) === batch);
        } finally {
          if (!more) leave(lane);
        }
      },
      async onAlive(lane) {
        leave(lane);
      },
      onError: (err, lane) => options.onDrainError?.(err, lane),
    },
    options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS,
  );
  return {
    tick: loop.tick,
    async stop() {
      await loop.stop();
      for (const lane of [...passing]) leave(lane);
    },
  };
}

/**
 * Before the default lane's consumer starts: may its user do what the drain does? Each call is
 * harmless — the lanes' consumer info, a read, the delete of sequence 0 (which no stream holds) —
 * and a permission it lacks or an account without JetStream fails `consume()` naming what to
 * grant, instead of a drain that silently strands, or runs twice, what a dead lane left. (Neither
 * publishing to the base subject nor pulling a lane's durable can be tried without taking a
 * message: docs/queues.md lists them. A pull that never reaches the server is noticed by the
 * drain, which then moves that lane by direct get.)
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
    const read = jsm.streams.getMessage(stream, query);
    await natsCall(
      unlessApiError(read, JS_GET_NO_MESSAGE, () => null),
      where,
      WHY_DRAIN,
    );
  }
  const zero = jsm.streams.deleteMessage(stream, 0, false);
  await natsCall(
    unlessApiError(zero, JS_NO_MESSAGE_FOUND, () => false),
    where,
    WHY_DRAIN,
  );
}
