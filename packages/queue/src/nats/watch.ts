import type { NatsConsumerInfoLike } from './types.js';

/**
 * A look at a lane's durable: its state as the server gave it (`undefined`: "consumer not
 * found"), and this router's own pulls from it at that moment.
 */
export interface LaneLook {
  readonly info: NatsConsumerInfoLike | undefined;
  /** Messages this router's drains had received from the durable. */
  readonly received: number;
  /** This router's pull requests still open on the durable, and what they may still deliver. */
  readonly requests: number;
  readonly messages: number;
  /** A look came before this one (movement since then can be told). */
  readonly baselined: boolean;
  /** Deliveries since the look before this one that this router's pulls cannot explain. */
  readonly moved: number;
}

/** One open pull request of a drain. */
export interface OwnPull {
  /** A message arrived on it. */
  got(): void;
  /** It is over (filled, expired or failed). */
  end(): void;
}

/**
 * What one router knows about the lanes' durables: its own drains' pulls (which liveness must not
 * take for a live lane consumer: they deliver, and hold a pull request, as a consumer does), and
 * the last look at each durable. Shared by the router's liveness probe and its drains.
 */
export interface LaneWatch {
  /** Records a look at `lane` and returns it. */
  record(lane: string, info: NatsConsumerInfoLike | undefined): LaneLook;
  /** The last look at `lane`. */
  last(lane: string): LaneLook | undefined;
  /** A drain opens a pull request for up to `max` messages of `lane`. */
  pull(lane: string, max: number): OwnPull;
  /** A drain of this router is moving `lane` batch after batch (`true`) or has stopped. */
  passing(lane: string, on: boolean): void;
  /**
   * Deliveries between two looks that this router's pulls cannot explain: another consumer of
   * the durable took them. An upper bound of the router's own pulls is subtracted, so a delivery
   * to an open pull of its own is never taken for another consumer's.
   */
  others(before: LaneLook | undefined, after: LaneLook): number;
  /** Pull requests waiting on the durable that are not this router's own. */
  waiting(look: LaneLook): number;
  /** Is one of this router's drains in the middle of moving `lane`? */
  inPass(lane: string): boolean;
  /** A drain of this router holds (`true`: pulled, not yet acked or handed back) a message. */
  hold(lane: string, seq: number, on: boolean): void;
  /** Messages of `lane` this router's drains hold. */
  held(lane: string): ReadonlySet<number>;
}

interface Own {
  received: number;
  requests: number;
  messages: number;
  passes: number;
  held: Set<number>;
}

/** A {@link LaneWatch} for one router. */
export function createLaneWatch(): LaneWatch {
  const own = new Map<string, Own>();
  const looks = new Map<string, LaneLook>();
  const of = (lane: string): Own => {
    let o = own.get(lane);
    if (o === undefined) {
      o = { received: 0, requests: 0, messages: 0, passes: 0, held: new Set() };
      own.set(lane, o);
    }
    return o;
  };
  const others = (before: LaneLook | undefined, after: LaneLook): number => {
    if (before?.info === undefined || after.info === undefined) return 0;
    const delivered = after.info.delivered.consumer_seq - before.info.delivered.consumer_seq;
    return Math.max(0, delivered - (after.received - before.received) - after.messages);
  };
  return {
    record(lane, info) {
      const o = of(lane);
      const before = looks.get(lane);
      const fields = { info, received: o.received, requests: o.requests, messages: o.messages };
      const look: LaneLook = {
        ...fields,
        baselined: before?.info !== undefined && info !== undefined,
        moved: others(before, { ...fields, baselined: false, moved: 0 }),
      };
      looks.set(lane, look);
      return look;
    },
    last: (lane) => looks.get(lane),
    pull(lane, max) {
      const o = of(lane);
      o.requests++;
      o.messages += max;
      let left = max;
      let open = true;
      return {
        got() {
          o.received++;
          if (open && left > 0) {
            left--;
            o.messages--;
          }
        },
        end() {
          if (!open) return;
          open = false;
          o.requests--;
          o.messages -= left;
          left = 0;
        },
      };
    },
    passing(lane, on) {
      const o = of(lane);
      o.passes = Math.max(0, o.passes + (on ? 1 : -1));
    },
    others,
    waiting: (look) => Math.max(0, (look.info?.num_waiting ?? 0) - look.requests),
    inPass: (lane) => of(lane).passes > 0,
    hold(lane, seq, on) {
      if (on) of(lane).held.add(seq);
      else of(lane).held.delete(seq);
    },
    held: (lane) => of(lane).held,
  };
}
