import type { InboundEngine } from './engine.js';
import { runInRequestContext } from './bind.js';
import { GrpcCarrier, type GrpcServerCallLike } from './grpc-carrier.js';
import { decideOnce } from './once.js';

type Engine = InboundEngine<GrpcServerCallLike>;

/** @internal Every function of `impl` (own and inherited, as grpc-js looks them up), wrapped. */
export function wrapService<I extends object>(engine: Engine, impl: I): I {
  const out: Record<string, unknown> = {};
  for (let o: object | null = impl; o !== null && o !== Object.prototype;) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || Object.prototype.hasOwnProperty.call(out, name)) continue;
      let value: unknown;
      try {
        value = (impl as Record<string, unknown>)[name];
      } catch {
        continue;
      }
      out[name] = typeof value === 'function' ? wrapHandler(engine, value, impl) : value;
    }
    o = Object.getPrototypeOf(o) as object | null;
  }
  return out as I;
}

type Handler = (this: unknown, ...args: unknown[]) => unknown;

/**
 * A handler deciding its call (once: a call the interceptor decided keeps that decision) and
 * running inside its lane; the call's own events (`data`, `end`, `cancelled`, `error`) run in
 * it too, from wherever grpc-js emits them. What is not a call goes through unchanged.
 */
function wrapHandler(engine: Engine, fn: unknown, self: object): Handler {
  const handler = fn as Handler;
  return function graylaneGrpcHandler(...args: unknown[]): unknown {
    const call = args[0];
    if (typeof call !== 'object' || call === null) return Reflect.apply(handler, self, args);
    const c = call as GrpcServerCallLike;
    let metadata: unknown;
    try {
      metadata = c.metadata;
    } catch {
      metadata = undefined;
    }
    const key = typeof metadata === 'object' && metadata !== null ? metadata : c;
    const outcome = decideOnce(engine, {
      key,
      req: c,
      carrier: new GrpcCarrier({ call: c }),
      bind: true,
      res: c,
    });
    return runInRequestContext(outcome, () => Reflect.apply(handler, self, args));
  };
}
