/**
 * `fulfilment` — the queue hop. `orders` publishes "order placed" in its lane; a fulfilment worker
 * (stable and beta code, both consuming) takes it inside the lane the message carried and prices
 * the shipment by calling `pricing` over HTTP with `withGray(fetch)`, so the lane reaches the
 * worker and the worker's outbound call. The worker reports its hop records back in-process (the
 * demo runs it beside `orders`), so the tour can show them.
 */
import { randomUUID } from 'node:crypto';
import type { ConfigStore } from '@graylane/core';
import { tryGetGrayVersion, withGray } from '@graylane/node';
import { createMessageLanes } from '@graylane/queue';
import { currentHop, isHopsBody, type HopRecord } from '../hop.js';
import { resolveLane, type LaneTable } from '../lanes.js';
import { openOrderQueue, type OrderQueue } from '../queue/order-queue.js';
import { PRICING_CALL_MS, RECEIPT_MS } from '../timeouts.js';
import { defaultVersion } from './common.js';

/** The lanes the fulfilment worker is deployed in. */
export const WORKER_LANES: readonly string[] = ['stable', 'beta'];

/** What `orders` gets back for one placed order: the worker's hop and its call's hop. */
export type QueueReceipt = { readonly hops: readonly HopRecord[] } | { readonly error: string };

/** The running queue and workers. */
export interface Fulfilment {
  /** `in-process` or `BullMQ on host:port`. */
  readonly kind: string;
  /** Publishes an order in the current lane and waits (bounded) for the worker's receipt. */
  place(sku: string): Promise<QueueReceipt>;
  close(): Promise<void>;
}

/** Starts the queue and one worker per lane in {@link WORKER_LANES}. */
export async function startFulfilment(options: {
  readonly lanes: LaneTable;
  readonly config: ConfigStore;
  readonly redisUrl: string | undefined;
}): Promise<Fulfilment> {
  const lanes = createMessageLanes({ config: options.config, allowHosts: ['127.0.0.1'] });
  const queue: OrderQueue = await openOrderQueue(lanes, options.redisUrl);
  const waiting = new Map<string, (receipt: QueueReceipt) => void>();
  const grayFetch = withGray(undefined, { allowHosts: ['127.0.0.1'] });

  const work = (lane: string) =>
    async function fulfilmentWorker(body: string): Promise<void> {
      const { id, sku } = JSON.parse(body) as { id: string; sku: string };
      const next = resolveLane(
        options.lanes,
        'pricing',
        tryGetGrayVersion(),
        defaultVersion(options.config),
      );
      let receipt: QueueReceipt;
      try {
        const res = await grayFetch(`${next.url}/prices/${sku}`, {
          signal: AbortSignal.timeout(PRICING_CALL_MS),
        });
        const data: unknown = await res.json();
        const downstream = isHopsBody(data) ? data.hops : [];
        receipt = { hops: [currentHop('worker', `worker-${lane}`, lane), ...downstream] };
      } catch (err) {
        receipt = { error: `pricing unreachable from the worker: ${String(err)}` };
      }
      waiting.get(id)?.(receipt);
    };
  const consumers = WORKER_LANES.map((lane) => queue.consume(lane, work(lane)));

  return {
    kind: queue.kind,
    async place(sku) {
      const id = randomUUID();
      const receipt = new Promise<QueueReceipt>((resolve) => {
        const timer = setTimeout(
          () => resolve({ error: `no receipt from the worker in ${RECEIPT_MS} ms` }),
          RECEIPT_MS,
        );
        waiting.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      try {
        await queue.publish(JSON.stringify({ id, sku }));
        return await receipt;
      } catch (err) {
        waiting.get(id)?.({ error: `queue unavailable: ${String(err)}` });
        return await receipt;
      } finally {
        waiting.delete(id);
      }
    },
    async close() {
      await Promise.all(consumers.map((c) => c.close()));
      await queue.close();
    },
  };
}
