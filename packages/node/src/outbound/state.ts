import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Allowlist } from '@graylane/core';
import type { GrayStore } from '../context/storage.js';
import type { Origin } from './origin.js';
import type { HopPlan } from './plan.js';

/** What `installGlobal()` left in place while it is active. */
export interface GlobalInstall {
  readonly allow: Allowlist | undefined;
  /** Whether undici requests (global fetch, npm undici) are covered. */
  readonly undici: boolean;
  /** Whether `node:http2` client requests are covered (http2.ts). */
  readonly http2?: boolean;
  /** The options it was installed with, as {@link optionsKey} writes them. */
  readonly given?: string | undefined;
  /** Other options a later call gave, each warned about once. */
  readonly ignored?: Set<string>;
  readonly uninstall: () => void;
}

/** @internal Process-wide outbound state (issue 15: one copy whatever mix of ESM/CJS entries loads). */
export interface OutboundState {
  /** The `undici:request:create` listener is subscribed (at most once per process). */
  guard: boolean;
  /** Plans of wrapper-level calls in flight, read by that listener (see hop-guard.ts). */
  notes: AsyncLocalStorage<HopPlan | undefined> | undefined;
  install: GlobalInstall | undefined;
  /**
   * The origin of the dispatch a graylane hook is making right now, set only for the synchronous
   * extent of that dispatch (see origin.ts): a request undici creates meanwhile is that call's.
   */
  dispatching: Origin | undefined;
  /**
   * A `grayInterceptor` dispatch with no `origin` whose request undici is creating right now:
   * its constructor read the options' announcer (origin.ts `announcing`). The next request
   * undici publishes takes it, or drops it when it is not that one.
   */
  creating?: CreatingNote | undefined;
  /**
   * The `grayInterceptor` dispatch with no `origin` running right now (synchronous extent only):
   * a request undici creates meanwhile teaches it its dispatcher's host (origin.ts).
   */
  learning?: OwnOriginCall | undefined;
  /** Where each undici request came from, decided once when it is created (origin.ts). */
  readonly origins: WeakMap<object, Origin>;
  /** The own symbol undici keeps a request's handler under, per `Request` prototype. */
  readonly handlerKeys: WeakMap<object, symbol | null>;
  /** Listeners told about every undici request once its origin is known (coverage). */
  readonly onCreate: Set<(request: object, origin: Origin) => void>;
  /** HTTP/2 bookkeeping (http2.ts, http2-grpc.ts), created on first use. */
  http2?: Http2State | undefined;
  /** What graylane knows of undici's connections (undici-clients.ts), created on first use. */
  connections?: ConnectionState | undefined;
}

/** @internal undici's Clients and connections as graylane saw them (CTX-13, hop-connection.ts). */
export interface ConnectionState {
  /**
   * The Clients seen connecting or writing a head, weakly held, by the origin they create
   * requests with (`Client[kUrl].origin`, which is each of their requests' `origin`).
   */
  readonly clients: Map<string, Set<WeakRef<object>>>;
  /** The Clients in `clients` (each is registered once). */
  readonly known: WeakSet<object>;
  /** Clients registered since the last sweep of `clients` for Clients collected. */
  registered: number;
  /**
   * Whether each connected socket proves the origin it was judged for (`host:port`), decided
   * once per socket and origin: a socket handed from one Client to another (the tunnel a
   * `ProxyAgent` opens with its proxy's Client) is judged again for the new one.
   */
  readonly proven: WeakMap<object, { readonly to: string; readonly verdict: boolean }>;
  /** Requests written on a connection that proved nothing: their marker was removed. */
  readonly cleaned: WeakSet<object>;
  /** Requests that already carried the lane's marker header when undici created them. */
  readonly carriedAtCreate: WeakSet<object>;
  /** HTTP/2 sessions (undici's) whose `request()` graylane guards. */
  readonly sessions: WeakSet<object>;
  /**
   * Those of them whose heads undici publishes on `undici:client:sendHeaders` (undici 7; 5 and 6
   * publish HTTP/1.1 heads only): coverage counts their requests there, once.
   */
  readonly headed: WeakSet<object>;
}

/** @internal The connection part of the outbound state, created on first use. */
export function connectionState(): ConnectionState {
  const state = outboundState();
  return (state.connections ??= {
    clients: new Map(),
    known: new WeakSet(),
    registered: 0,
    proven: new WeakMap(),
    cleaned: new WeakSet(),
    carriedAtCreate: new WeakSet(),
    sessions: new WeakSet(),
    headed: new WeakSet(),
  });
}

/** @internal What `installGlobal`'s HTTP/2 patch shares with coverage and `grayGrpcInterceptor`. */
export interface Http2State {
  /**
   * The lane the patched `request()` running right now judged with (synchronous extent only): a
   * stream Node publishes on `http2.client.stream.created` meanwhile is that call's.
   */
  calling: { readonly store: GrayStore | undefined } | undefined;
  /** Listeners told about every HTTP/2 request the patch judged, once its stream exists. */
  readonly onRequest: Set<(stream: object, store: GrayStore | undefined) => void>;
  /** gRPC calls `grayGrpcInterceptor` tagged, by token: the caller's lane, read at call start. */
  readonly calls: Map<string, GrayStore>;
  /** This process's secret token prefix (a token forwarded from elsewhere never matches). */
  readonly secret: string;
  seq: number;
  /**
   * How each client session made through `installGlobal`'s `http2.connect` was connected: the
   * origin Node's own connection went to, or null when other code made it (`createConnection`,
   * a `socket`, a `path`). A session absent here was made otherwise (see http2-target.ts).
   */
  readonly sessions: WeakMap<object, string | null>;
}

/**
 * @internal A `grayInterceptor` dispatch with no `origin` (a Client's or Pool's own host): the
 * path and method undici will create its request with (`query`: undici appends the `query`
 * option), and the hosts (URL origins) its dispatcher chain was seen to create requests on.
 */
export interface OwnOriginCall {
  readonly path: string;
  readonly method: unknown;
  readonly query: boolean;
  readonly hosts: Set<string>;
}

/** @internal What undici's read of such a call's options announces (origin.ts `announcing`). */
export interface CreatingNote {
  /** The call's origin (the caller's context, as graylane's hook saw it). */
  readonly from: Origin;
  readonly call: OwnOriginCall;
}

/** Versioned: v2 added the origin bookkeeping; a v1 copy in the same process keeps its own. */
const KEY = Symbol.for('@graylane/node.outbound.v2');

/** @internal The one outbound state of this process, created on first use (never on import). */
export function outboundState(): OutboundState {
  const g = globalThis as { [KEY]?: OutboundState };
  return (g[KEY] ??= {
    guard: false,
    notes: undefined,
    install: undefined,
    dispatching: undefined,
    origins: new WeakMap(),
    handlerKeys: new WeakMap(),
    onCreate: new Set(),
  });
}

/** @internal The HTTP/2 part of the outbound state, created on first use. */
export function http2State(): Http2State {
  const state = outboundState();
  return (state.http2 ??= {
    calling: undefined,
    onRequest: new Set(),
    calls: new Map(),
    secret: randomBytes(12).toString('hex'),
    seq: 0,
    sessions: new WeakMap(),
  });
}

/** @internal Runs `fn` with `plan` visible to the undici listener for every request it creates. */
export function runNoted<T>(plan: HopPlan, fn: () => T): T {
  const state = outboundState();
  state.notes ??= new AsyncLocalStorage<HopPlan | undefined>();
  return state.notes.run(plan, fn);
}

/** @internal The plan of the wrapper-level call whose async context this is, if any. */
export function currentNote(): HopPlan | undefined {
  return outboundState().notes?.getStore();
}

/**
 * @internal Runs `fn` outside any wrapper-level plan. `run(undefined)`, not `exit`: on Node 20
 * and 22 `exit` disables the storage for its synchronous extent, so a scope restored inside it
 * (`runInAsyncScope`) would lose its plan too.
 */
export function withoutNote<T>(fn: () => T): T {
  const notes = outboundState().notes;
  return notes === undefined ? fn() : notes.run(undefined, fn);
}
