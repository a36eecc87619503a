import { AsyncResource } from 'node:async_hooks';
import { GraylaneError } from '@graylane/core';
import { currentStore, type GrayStore } from '../context/storage.js';
import type { HeaderOps } from './hop-headers.js';
import { http2State, outboundState } from './state.js';

/**
 * The metadata key that takes a call's token from `grayGrpcInterceptor` to `installGlobal`'s
 * HTTP/2 patch, which removes it before the request is written.
 */
const TOKEN_HEADER = 'graylane-call';

/**
 * gRPC calls tagged and not finished yet. Past it a call is not tagged: it carries no marker
 * (coverage counts it `missing`), and memory stays bounded whatever a caller leaks.
 */
export const MAX_TAGGED_CALLS = 10_000;

/** The part of grpc-js `Metadata` used here (a copy is tagged; the caller's is never touched). */
export interface GrpcMetadataLike<M> {
  clone(): M;
  set(key: string, value: string): void;
}

/**
 * A grpc-js `Listener`: each callback passes its value on with `next`. `next` takes `never` so
 * that grpc-js's own listener types (`next(metadata: Metadata)`, `next(status: StatusObject)`)
 * fit it; graylane passes on exactly the value it was given.
 */
export interface GrpcListenerLike {
  onReceiveMetadata?(metadata: unknown, next: (metadata: never) => void): void;
  onReceiveMessage?(message: unknown, next: (message: never) => void): void;
  onReceiveStatus?(status: unknown, next: (status: never) => void): void;
}

/** A grpc-js `Requester` with the one step graylane takes: `start`. */
export interface GrpcRequesterLike<M> {
  start(
    metadata: M,
    listener: unknown,
    next: (metadata: M, listener: GrpcListenerLike) => void,
  ): void;
}

/** The part of `@grpc/grpc-js` the interceptor is built from: its `InterceptingCall` class. */
export interface GrpcModuleLike<N, C, M extends GrpcMetadataLike<M>> {
  readonly InterceptingCall: new (nextCall: N, requester: GrpcRequesterLike<M>) => C;
}

/**
 * A `@grpc/grpc-js` client interceptor that carries the lane of the code making each call.
 * grpc-js queues the calls made while a channel connects and starts them later from the
 * context of the call that connected it, so `installGlobal()`, which judges an HTTP/2 request
 * where it is started, cannot tell whose a grpc-js request is: alone, it adds no marker to one
 * and only removes markers where they may not go. This interceptor reads the lane when the call
 * is made and hands it to that judgement (a token in the metadata, removed before anything is
 * written), which adds the marker and the `gray` member when the authority is allowlisted —
 * nothing elsewhere. The call's callbacks run in the context the call was made in, always — so
 * code in them sees (and passes on) its own lane, and a call made outside any lane never sees
 * another call's. Adding a marker needs `installGlobal()` active with `http2` on. Pass the
 * grpc-js module you build clients with (anything else throws `INVALID_OPTIONS`).
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grayGrpcInterceptor, installGlobal } from '@graylane/node';
 *
 * installGlobal({ allowHosts: ['orders.internal'] });
 * const Orders = grpc.makeGenericClientConstructor({}, 'Orders');
 * const orders = new Orders('orders.internal:50051', grpc.credentials.createInsecure(), {
 *   interceptors: [grayGrpcInterceptor(grpc)],
 * });
 * orders.close();
 * ```
 */
export function grayGrpcInterceptor<N, C, M extends GrpcMetadataLike<M>>(
  grpc: GrpcModuleLike<N, C, M>,
): <O>(options: O, nextCall: (options: O) => N) => C {
  if (
    typeof (grpc as Partial<GrpcModuleLike<N, C, M>> | null | undefined)?.InterceptingCall !==
    'function'
  )
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'grayGrpcInterceptor: pass the @grpc/grpc-js module (import * as grpc from "@grpc/grpc-js")',
    );
  return function graylaneGrpcInterceptor<O>(options: O, nextCall: (options: O) => N): C {
    const store = outboundState().install?.http2 === true ? currentStore() : undefined;
    return new grpc.InterceptingCall(nextCall(options), requester<M>(store));
  };
}

/**
 * What runs when the call starts: tag the metadata (in a lane only) and bind the callbacks to
 * the context the call was made in — always, a call made outside any lane included: grpc-js
 * delivers the callbacks of calls queued while its channel connects in the context of the call
 * that connected it, which may be another request's lane (review 125 D1).
 */
function requester<M extends GrpcMetadataLike<M>>(
  store: GrayStore | undefined,
): GrpcRequesterLike<M> {
  const scope = new AsyncResource('graylane.grpc');
  return {
    start(metadata, _listener, next) {
      const token = store === undefined ? undefined : tag(store);
      try {
        next(token === undefined ? metadata : withToken(metadata, token), bound(scope, token));
      } catch (err) {
        release(token);
        throw err;
      }
    },
  };
}

function withToken<M extends GrpcMetadataLike<M>>(metadata: M, token: string): M {
  try {
    const copy = metadata.clone();
    copy.set(TOKEN_HEADER, token);
    return copy;
  } catch {
    release(token);
    return metadata;
  }
}

/** A listener whose callbacks pass each value on in the caller's context; frees the token. */
function bound(scope: AsyncResource, token: string | undefined): GrpcListenerLike {
  const pass = (value: unknown, next: (value: never) => void): void =>
    void scope.runInAsyncScope(next as (value: unknown) => void, undefined, value);
  return {
    onReceiveMetadata: pass,
    onReceiveMessage: pass,
    onReceiveStatus(status, next) {
      release(token);
      pass(status, next);
    },
  };
}

function tag(store: GrayStore): string | undefined {
  const h2 = http2State();
  if (h2.calls.size >= MAX_TAGGED_CALLS) return undefined;
  const token = `${h2.secret}.${(++h2.seq).toString(36)}`;
  h2.calls.set(token, store);
  return token;
}

function release(token: string | undefined): void {
  if (token !== undefined) http2State().calls.delete(token);
}

/**
 * @internal Removes the token from a request's headers (always: it never leaves the process)
 * and returns the lane it stands for. A token this process did not hand out, or whose call has
 * ended, proves nothing. Every attempt of a call (grpc-js retries) carries the same token.
 */
export function takeGrpcToken(ops: HeaderOps): { found: boolean; store: GrayStore | undefined } {
  const values = ops.values(TOKEN_HEADER);
  if (values.length === 0) return { found: false, store: undefined };
  ops.remove(TOKEN_HEADER);
  const store = values.length === 1 ? http2State().calls.get(values[0]!) : undefined;
  return { found: store !== undefined, store };
}
