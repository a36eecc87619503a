/**
 * The demo's in-process queue, used by `npm start` when no broker is configured. It has the same
 * wrapper API as the real brokers in `@graylane/queue`: the producer puts the marker into the
 * message's headers (`lanes.inject`), each consumer runs a message inside its lane (`lanes.run`),
 * and a lane with no live consumer falls back to the default lane. Consumers pull from their own
 * loop, so a handler never inherits the producer's async context: the lane it sees came through
 * the message headers.
 */
import { createLiveness, type MessageLanes } from '@graylane/queue';
import type { OrderQueue } from './order-queue.js';

/** Messages one consumer handles at once. */
const CONCURRENCY = 16;

interface Message {
  readonly body: string;
  readonly headers: Readonly<Record<string, unknown>> | undefined;
}

interface Lane {
  readonly waiting: Message[];
  readonly wakers: (() => void)[];
  consumers: number;
}

/** Creates the in-process queue. */
export function createMemoryQueue(lanes: MessageLanes): OrderQueue {
  const byLane = new Map<string, Lane>();
  const lane = (name: string): Lane => {
    let l = byLane.get(name);
    if (!l) {
      l = { waiting: [], wakers: [], consumers: 0 };
      byLane.set(name, l);
    }
    return l;
  };
  // Liveness is exact in one process: a lane is alive while it has a consumer.
  const liveness = createLiveness(async (name) => lane(name).consumers > 0, {
    intervalMs: 0,
    graceMs: 0,
  });
  let closed = false;

  return {
    kind: 'in-process',
    async publish(body) {
      const marker = lanes.outgoing();
      const base = lanes.config().default;
      const wanted = marker?.version ?? base;
      const target = wanted !== base && (await liveness.check(wanted)) ? wanted : base;
      const l = lane(target);
      l.waiting.push({ body, headers: lanes.inject(undefined, marker) });
      l.wakers.shift()?.();
    },
    consume(name, handler) {
      const l = lane(name);
      l.consumers++;
      let stopped = false;
      const next = (): Promise<Message | undefined> =>
        new Promise((resolve) => {
          const take = (): void => resolve(stopped || closed ? undefined : l.waiting.shift());
          if (l.waiting.length > 0 || stopped || closed) take();
          else l.wakers.push(take);
        });
      const loop = async function consumerLoop(): Promise<void> {
        for (let msg = await next(); msg !== undefined; msg = await next()) {
          const { headers, body } = msg;
          await lanes
            .run(
              (h) => headers?.[h],
              () => handler(body),
              { served: name },
            )
            .catch(() => undefined);
        }
      };
      // Like a worker's concurrency setting: this many messages of the lane in flight at once.
      for (let i = 0; i < CONCURRENCY; i++) void loop();
      return {
        close() {
          stopped = true;
          l.consumers--;
          for (const wake of l.wakers.splice(0)) wake();
        },
      };
    },
    async close() {
      closed = true;
      for (const l of byLane.values()) for (const wake of l.wakers.splice(0)) wake();
    },
  };
}
