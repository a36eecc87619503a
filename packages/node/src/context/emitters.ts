import { storage, type GrayStore } from './storage.js';

interface EmitterLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount?(event: string | symbol): number;
}

const BOUND = Symbol.for('@graylane/node.boundEmitter');

/**
 * Makes every event of this request's `req`/`res` run inside the request's context, so
 * `req.on('data' | 'end')` listeners — body parsers, `raw-body`, `on-finished` — see the marker
 * (RELIABILITY CTX-05, express-http-context#4). Node emits those events from the socket's async
 * context, which belongs to no request. Only these two per-request objects are touched (their
 * own `emit` property), never a prototype; it is done once per object.
 */
export function bindRequestEmitters(
  store: GrayStore,
  ...emitters: (EmitterLike | undefined)[]
): void {
  for (const target of emitters) {
    if (!target || (target as { [BOUND]?: true })[BOUND]) continue;
    try {
      const emit = target.emit;
      if (typeof emit !== 'function') continue;
      const als = storage();
      target.emit = function graylaneBoundEmit(this: EmitterLike): boolean {
        // `arguments`, not rest args: this runs for every event of every request.
        // eslint-disable-next-line prefer-rest-params
        const args = arguments as unknown as unknown[];
        // Fast path: nobody listens, or we are already in this request's context.
        if (als.getStore() === store || this.listenerCount?.(args[0] as string) === 0) {
          return Reflect.apply(emit, this, args) as boolean;
        }
        return als.run(store, () => Reflect.apply(emit, this, args) as boolean);
      };
      (target as { [BOUND]?: true })[BOUND] = true;
    } catch {
      // A frozen or exotic emitter keeps its native behaviour (I1).
    }
  }
}
