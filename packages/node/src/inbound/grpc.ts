import { GraylaneError, type ConfigStore, type InboundOptions } from '@graylane/core';
import type { GraylaneStats } from '../metrics/stats.js';
import { createEngine } from './engine.js';
import type { GrpcServerCallLike } from './grpc-carrier.js';
import {
  grpcServerInterceptor,
  type GrpcInterceptingLike,
  type GrpcNextCallLike,
  type GrpcServerInterceptor,
  type GrpcServerModuleLike,
} from './grpc-interceptor.js';
import { wrapService } from './grpc-service.js';

export type {
  GrpcInterceptingLike,
  GrpcNextCallLike,
  GrpcResponderLike,
  GrpcResponseMetadataLike,
  GrpcServerInterceptor,
  GrpcServerListenerLike,
  GrpcServerModuleLike,
} from './grpc-interceptor.js';

/**
 * Options of {@link createGraylaneGrpc}: core's inbound options, with the gRPC call handed to
 * `attributes`, `subject` and `onDecision` (`call.metadata`, `call.getPath()`, `call.getPeer()`).
 */
export type GraylaneGrpcOptions = InboundOptions<GrpcServerCallLike>;

/** The inbound side of graylane for a grpc-js server. */
export interface GraylaneGrpc {
  /**
   * A grpc-js (≥ 1.10) server interceptor deciding every call of the server, whatever service
   * it belongs to, before any handler or later interceptor sees it: pass your `@grpc/grpc-js`
   * module, and the result in `new grpc.Server({ interceptors: [...] })` (first, so later
   * interceptors run in the lane too). Adds the debug header to the response metadata when
   * `debugHeader` is on.
   */
  interceptor<N extends GrpcNextCallLike, C extends GrpcInterceptingLike>(
    grpc: GrpcServerModuleLike<N, C>,
  ): GrpcServerInterceptor<N, C>;
  /**
   * Wraps every handler of a service implementation (unary, client-, server- and bidi-streaming)
   * for `server.addService(definition, gray.service(impl))`, on any grpc-js version. Returns a
   * new object; `impl` is not changed, and its handlers run with `this` bound to it. Sends no
   * debug header (grpc-js sends the response metadata past the handler's call object).
   */
  service<I extends object>(implementation: I): I;
  /** The config store in force. */
  readonly store: ConfigStore;
  /** In-process counters snapshot. */
  stats(): GraylaneStats;
}

/**
 * Creates graylane for a grpc-js server. Each call is decided once, as an HTTP request is —
 * `trust`, `trustedProxies`, signed markers, rules, `attributes`, counters and `onDecision` —
 * from its metadata (read as request headers), its method path (`path` rules), `:authority`
 * (`host` rules) and peer address; the handler, everything it awaits and its `call.on('data' |
 * 'end' | 'cancelled')` listeners run in the call's lane, so `getGrayVersion()` works there and
 * outbound calls (`grayGrpcInterceptor`, `installGlobal`) carry it. In `edge` mode a marker the
 * client sent is removed from `call.metadata` before anything reads it (GW-01). gRPC has no
 * cookies: sticky cookies are never written nor subject ids minted (split on `header:` or
 * `attr:` subjects; a `cookie:` split warns). Throws only on bad options (construction time).
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { createGraylaneGrpc, getGrayVersion } from '@graylane/node';
 *
 * const gray = createGraylaneGrpc({ config: { versions: ['stable', 'beta'], default: 'stable' } });
 * const server = new grpc.Server({ interceptors: [gray.interceptor(grpc)] });
 * server.addService(Orders.service, {
 *   get: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) =>
 *     done(null, { version: getGrayVersion() }),
 * });
 * ```
 */
export function createGraylaneGrpc(options: GraylaneGrpcOptions): GraylaneGrpc {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'createGraylaneGrpc: pass an options object ({ config, … })',
    );
  // gRPC has no cookies: sticky mints no subject ids and cookie: splits keep their warning.
  const engine = createEngine<GrpcServerCallLike>(options, false);
  return {
    interceptor: (grpc) => grpcServerInterceptor(engine, grpc),
    service(implementation) {
      if (
        typeof implementation !== 'object' ||
        implementation === null ||
        Array.isArray(implementation)
      )
        throw new GraylaneError(
          'INVALID_OPTIONS',
          'grayGrpcService: pass the service implementation (an object of handlers)',
        );
      return wrapService(engine, implementation);
    },
    store: engine.options.store,
    stats: () => engine.stats(),
  };
}

/**
 * Wraps a service implementation's handlers in one call: `grayGrpcService(options, impl)` is
 * `createGraylaneGrpc(options).service(impl)`; pass a {@link GraylaneGrpc} to share one instance
 * (its counters, its decision) between services and the server interceptor.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { grayGrpcService, getGrayVersion } from '@graylane/node';
 *
 * const config = { versions: ['stable', 'beta'], default: 'stable' };
 * const server = new grpc.Server();
 * server.addService(Orders.service, grayGrpcService({ config }, {
 *   get: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) =>
 *     done(null, { version: getGrayVersion() }),
 * }));
 * ```
 */
export function grayGrpcService<I extends object>(
  gray: GraylaneGrpc | GraylaneGrpcOptions,
  implementation: I,
): I {
  if (typeof gray !== 'object' || gray === null || Array.isArray(gray))
    throw new GraylaneError(
      'INVALID_OPTIONS',
      'grayGrpcService: pass createGraylaneGrpc(options) or its options, then the implementation',
    );
  const instance = isGraylaneGrpc(gray) ? gray : createGraylaneGrpc(gray);
  return instance.service(implementation);
}

function isGraylaneGrpc(value: object): value is GraylaneGrpc {
  const v = value as Partial<GraylaneGrpc>;
  return typeof v.service === 'function' && typeof v.interceptor === 'function';
}
