import { Worker, type WorkerOptions } from 'bullmq';
import type { BullProcessor } from './lanes.js';

/** What graylane started for a worker, ended with it (`force` as the worker was closed). */
export type WorkerPart = (force: boolean) => Promise<void>;

/** The client of a worker: `getBackend().client` (BullMQ 6), `client` (BullMQ 5). */
interface ClientHolder {
  getBackend?: () => { client?: Promise<unknown> };
  client?: Promise<unknown>;
}

/**
 * The BullMQ `Worker` a router hands out (`BullLaneWorker.worker`). Its own `close()` — the one a
 * SIGTERM handler calls, with or without `force` — also ends every part graylane started for it
 * (the default lane's drain workers, a lane's heartbeat), and resolves, like `worker.closing`,
 * only once they are closed too: nothing of graylane's outlives the worker, whichever API closed
 * it.
 */
export class LaneWorker extends Worker {
  #parts: WorkerPart[] = [];
  #client: { status?: unknown } | undefined;

  constructor(name: string, processor: BullProcessor, options: WorkerOptions) {
    super(name, processor, options);
    const holder = this as unknown as ClientHolder;
    const client = holder.getBackend?.().client ?? holder.client;
    // The resolved client, so `connectionEnded()` can answer synchronously.
    void Promise.resolve(client).then(
      (c) => (this.#client = typeof c === 'object' && c !== null ? c : undefined),
      () => undefined,
    );
  }

  /** Ends `part` when this worker closes (at once if it already is). */
  own(part: WorkerPart): void {
    if (this.closing) void part(false).catch(() => undefined);
    else this.#parts.push(part);
  }

  /**
   * True once the worker's Redis connection has ended for good (`worker.disconnect()`, a shared
   * `connection` quit, a `retryStrategy` that gave up): BullMQ never reconnects it, so the worker
   * can take no job again, though it is not closed.
   */
  connectionEnded(): boolean {
    return this.#client?.status === 'end';
  }

  override close(force = false): Promise<void> {
    if (this.closing) return this.closing;
    const parts = this.#parts.splice(0).map((end) => end(force).catch(() => undefined));
    const own = super.close(force);
    const all = Promise.all([own, ...parts]).then(() => undefined);
    this.closing = all;
    return all;
  }
}
