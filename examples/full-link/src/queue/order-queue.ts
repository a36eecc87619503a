/**
 * The queue between `orders` and the `fulfilment` worker: in-process by default, BullMQ on Redis
 * when `GRAYLANE_REDIS_URL` is set. Both sit behind the same small interface.
 */
import type { MessageLanes } from '@graylane/queue';
import { createMemoryQueue } from './memory.js';

/** What the demo needs from a queue. */
export interface OrderQueue {
  /** `in-process` or `BullMQ on <url>`. */
  readonly kind: string;
  /** Publishes one message in the current graylane context (the marker rides along). */
  publish(body: string): Promise<void>;
  /** Consumes as `lane`; the handler runs inside each message's lane. */
  consume(
    lane: string,
    handler: (body: string) => Promise<void>,
  ): { close(): void | Promise<void> };
  close(): Promise<void>;
}

/** The Redis URL that switches the demo's queue to BullMQ, if set. */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.GRAYLANE_REDIS_URL;
  return url === undefined || url === '' ? undefined : url;
}

/** Opens the demo's queue: BullMQ when `redisUrl` is given, else in-process. */
export async function openOrderQueue(
  lanes: MessageLanes,
  redisUrl: string | undefined,
): Promise<OrderQueue> {
  if (redisUrl === undefined) return createMemoryQueue(lanes);
  const { openBullQueue } = await import('./bullmq.js');
  return openBullQueue(lanes, redisUrl);
}
