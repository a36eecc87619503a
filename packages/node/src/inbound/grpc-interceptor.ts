import { GraylaneError } from '@graylane/core';
import { DEBUG_HEADER } from '../limits.js';
import { runInRequestContext } from './bind.js';
import type { InboundEngine, InboundOutcome } from './engine.js';
import {
  GrpcCarrier,
  type GrpcServerCallLike,
  type GrpcServerMetadataLike,
} from './grpc-carrier.js';
import { decideOnce } from './once.js';

/** What grpc-js hands a server interceptor as the next call (`ServerInterceptingCallInterface`). */
export interface GrpcNextCallLike {
  getPeer(): string;
  getHost?(): string;
  getAuthContext?(): { readonly transportSecurityType?: string | undefined } | undefined;
  getConnectionInfo?(): { readonly remoteAddress?: string | undefined } | undefined;
}

/** A grpc-js `InterceptingServerListener`: the four events of an incoming call. */
export interface GrpcServerListenerLike {
  onReceiveMetadata(metadata: unknown): void;
  onReceiveMessage(message: unknown): void;
  onReceiveHalfClose(): void;
  onCancel(): void;
}

/** The response metadata as grpc-js sends it (copied before graylane adds to it). */
export interface GrpcResponseMetadataLike {
  clone(): GrpcResponseMetadataLike;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** The one responder step graylane takes: the response metadata (the debug header). */
export interface GrpcResponderLike {
  /** `next` takes `never` so that grpc-js's own (`next(metadata: Metadata)`) fits it. */
  sendMetadata?(metadata: GrpcResponseMetadataLike, next: (metadata: never) => void): void;
}

/** The part of `@grpc/grpc-js` (≥ 1.10) the server interceptor is built from. */
export interface GrpcServerModuleLike<N extends GrpcNextCallLike, C extends GrpcInterceptingLike> {
  readonly ServerInterceptingCall: new (nextCall: N, responder?: GrpcResponderLike) => C;
}

/** A grpc-js `ServerInterceptingCall`, as far as graylane extends it. */
export interface GrpcInterceptingLike {
  start(listener: GrpcServerListenerLike): void;
}

/** A grpc-js server interceptor (`ServerInterceptor`). */
export type GrpcServerInterceptor<N, C> = (method: { readonly path: string }, call: N) => C;

type Engine = InboundEngine<GrpcServerCallLike>;
type LaneClass = new (call: unknown, lane: CallLane) => unknown;

/** The lane class made for each grpc-js copy's `ServerInterceptingCall` (made on first use). */
let classes: WeakMap<object, LaneClass> | undefined;

/**
 * @internal The server interceptor of `createGraylaneGrpc(…).interceptor(grpc)`: every call
 * decided on its metadata and run in its lane.
 */
export function grpcServerInterceptor<N extends GrpcNextCallLike, C extends GrpcInterceptingLike>(
  engine: Engine,
  grpc: GrpcServerModuleLike<N, C>,
): GrpcServerInterceptor<N, C> {
  const Base = (grpc as { readonly ServerInterceptingCall?: unknown } | null | undefined)
    ?.ServerInterceptingCall;
  if (typeof Base !== 'function')
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createGraylaneGrpc().interceptor: pass the @grpc/grpc-js module (≥ 1.10, with ServerInterceptingCall)',
    );
  classes ??= new WeakMap();
  let Lane = classes.get(Base);
  if (Lane === undefined) classes.set(Base, (Lane = laneClass(Base)));
  const L = Lane;
  return function graylaneGrpcServerInterceptor(method, call) {
    return new L(call, new CallLane(engine, method, call)) as C;
  };
}

/**
 * grpc-js's `ServerInterceptingCall` with `start` taking over the listener the handler side
 * passes: each event reaches it inside the call's lane. Not the responder's listener hooks: after
 * a listener's `onCancel` grpc-js calls the next one itself, outside any context it could enter.
 */
function laneClass(ServerInterceptingCall: unknown): LaneClass {
  const Base = ServerInterceptingCall as new (
    next: unknown,
    responder?: GrpcResponderLike,
  ) => GrpcInterceptingLike;
  class GraylaneServerCall extends Base {
    private readonly lane: CallLane;
    constructor(call: unknown, lane: CallLane) {
      super(call, lane.engine.options.debugHeader ? lane.responder() : undefined);
      this.lane = lane;
    }
    override start(listener: GrpcServerListenerLike): void {
      super.start(new LaneListener(this.lane, listener));
    }
  }
  return GraylaneServerCall;
}

/** One call seen by the interceptor: decided on its metadata, then run in its lane. */
class CallLane {
  outcome: InboundOutcome | undefined = undefined;
  constructor(
    readonly engine: Engine,
    readonly method: { readonly path: string },
    readonly next: GrpcNextCallLike,
  ) {}

  /** Decides on the call's metadata (edited in place, GW-01) and runs `fn` in the lane. */
  decide(metadata: unknown, fn: () => void): void {
    const call = new InterceptedCall(metadata as GrpcServerMetadataLike, this);
    const key = typeof metadata === 'object' && metadata !== null ? metadata : call;
    const carrier = new GrpcCarrier({ call, address: () => this.address() });
    this.outcome = decideOnce(this.engine, { key, req: call, carrier, bind: false });
    runInRequestContext(this.outcome, fn);
  }

  /** `fn` in the call's lane (the stricter one, when a later layer decided again: GW-03). */
  run(fn: () => void): void {
    const outcome = this.outcome;
    if (outcome === undefined) fn();
    else runInRequestContext(current(outcome), fn);
  }

  address(): string | undefined {
    try {
      const a = this.next.getConnectionInfo?.()?.remoteAddress;
      return typeof a === 'string' && a !== '' ? a : undefined;
    } catch {
      return undefined;
    }
  }

  responder(): GrpcResponderLike {
    return { sendMetadata: (metadata, next) => next(this.withDebugHeader(metadata) as never) };
  }

  /** The response metadata with the debug header of the decision in force (a copy). */
  private withDebugHeader(metadata: GrpcResponseMetadataLike): GrpcResponseMetadataLike {
    const outcome = this.outcome;
    if (outcome === undefined) return metadata;
    try {
      const copy = metadata.clone();
      const value = current(outcome).debugHeader;
      if (value === undefined) copy.remove(DEBUG_HEADER.toLowerCase());
      else copy.set(DEBUG_HEADER.toLowerCase(), value);
      return copy;
    } catch {
      return metadata;
    }
  }
}

/** The outcome of the stricter layer that decided again on this call, if any (GW-03). */
function current(outcome: InboundOutcome): InboundOutcome {
  let o = outcome;
  for (let s = o.store.successor; s !== undefined; s = s.successor) {
    const next = (s.entry as { readonly outcome?: InboundOutcome } | undefined)?.outcome;
    if (next !== undefined) o = next;
  }
  return o;
}

/** The listener the handler side gave grpc-js, its events delivered inside the call's lane. */
class LaneListener implements GrpcServerListenerLike {
  constructor(
    private readonly lane: CallLane,
    private readonly down: GrpcServerListenerLike,
  ) {}
  onReceiveMetadata(metadata: unknown): void {
    this.lane.decide(metadata, () => this.down.onReceiveMetadata(metadata));
  }
  onReceiveMessage(message: unknown): void {
    this.lane.run(() => this.down.onReceiveMessage(message));
  }
  onReceiveHalfClose(): void {
    this.lane.run(() => this.down.onReceiveHalfClose());
  }
  onCancel(): void {
    this.lane.run(() => this.down.onCancel());
  }
}

/** What `attributes`, `subject` and `onDecision` get from the interceptor: the call's surface. */
class InterceptedCall implements GrpcServerCallLike {
  constructor(
    readonly metadata: GrpcServerMetadataLike,
    private readonly lane: CallLane,
  ) {}
  getPeer(): string {
    return this.lane.next.getPeer();
  }
  getPath(): string {
    return this.lane.method.path;
  }
  getHost(): string {
    return this.lane.next.getHost?.() ?? '';
  }
  getAuthContext(): { readonly transportSecurityType?: string | undefined } | undefined {
    return this.lane.next.getAuthContext?.();
  }
}
