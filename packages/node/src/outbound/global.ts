import { syncBuiltinESMExports } from 'node:module';
import { packageRequire } from '../package-require.js';
import type { Allowlist } from '@graylane/core';
import { unwrapGlobalDispatcher, wrapGlobalDispatcher } from './global-dispatcher.js';
import { ensureHopGuard } from './hop-guard.js';
import { injectClientRequest, prepareRequest, type ClientRequestLike } from './http-client.js';
import { httpTarget, type ResolvedRequestLike } from './http-target.js';
import { patchHttp2 } from './http2.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { outboundState, type GlobalInstall } from './state.js';

/** Options of {@link installGlobal}. */
export interface InstallGlobalOptions extends OutboundOptions {
  /** Cover global `fetch` and every undici client (`undici:request:create`). Default `true`. */
  readonly fetch?: boolean;
  /** Cover `http.request`/`http.get`/`https.request`/`https.get` (and clients on them, e.g. axios). Default `true`. */
  readonly http?: boolean;
  /** Cover `node:http2` client sessions' `request()` (and clients on them; gRPC: see `grayGrpcInterceptor`). Default `true`. */
  readonly http2?: boolean;
}

type RequestFn = (
  ...args: unknown[]
) => ClientRequestLike & ResolvedRequestLike & { end(): unknown };
interface HttpModule {
  request: RequestFn;
  get: RequestFn;
  globalAgent?: unknown;
  ClientRequest?: unknown;
}

/**
 * Opt-in process-wide propagation, judged per request on the host it actually goes to, in the
 * context of the code that made the call:
 * - global `fetch` and npm undici calls without a `dispatcher` of their own: decided when they
 *   are dispatched, by a hook graylane puts in front of the global dispatcher (also one set
 *   later with `setGlobalDispatcher`) — so a call a connection-limited pool queues carries its
 *   own version, never that of the request that freed the connection (I7);
 * - other undici requests, through the `undici:request:create` diagnostics channel (every
 *   redirect hop is a request of its own there): the marker is added when graylane can prove
 *   whose call it is (`undici.request`/`stream`/`pipeline`/`upgrade`/`connect`, whose handler
 *   keeps the caller's context), otherwise only removed for hosts that are not allowlisted —
 *   for `fetch` with your own dispatcher, or dispatchers with interceptors, use `withGray` or
 *   compose `grayInterceptor` (coverage shows such calls as `missing`);
 * - `http`/`https` by wrapping `request`/`get` (clients that follow redirects, such as axios'
 *   follow-redirects, call them once per hop);
 * - `node:http2` by wrapping the client sessions' `request()`: each request on a shared session
 *   is judged on the origins it reaches or names, in the context of the code calling
 *   `request()` — added only where that context is provably the caller's, so grpc-js requests
 *   (started from a queue, in another call's context) get the marker through
 *   `grayGrpcInterceptor`, and are otherwise only cleaned.
 * It also governs what others add: a request to a host that is not allowlisted loses any `gray`
 * baggage member, OpenTelemetry's included (OTB-01).
 *
 * Nothing happens on import; this installs at most once per process — a second call returns a
 * no-op (with other options, after one `GRAYLANE_INSTALLED_ALREADY` process warning) — and the
 * returned function uninstalls it. A wrapper another library put on
 * `http.request` after this one keeps working after uninstall (MISC-01).
 *
 * @example
 * ```ts
 * const uninstall = installGlobal({ allowHosts: ['orders.internal', /^http:\/\/[a-z-]+\.svc\.cluster\.local(:\d+)?$/] });
 * // … on shutdown
 * uninstall();
 * ```
 */
export function installGlobal(options: InstallGlobalOptions = {}): () => void {
  const state = outboundState();
  if (state.install) {
    warnIgnored(state.install, options);
    return function graylaneAlreadyInstalled() {};
  }
  const allow = compileOutbound(options);
  const undos: (() => void)[] = [];
  if (options.http !== false)
    undos.push(patchHttp('node:http', 'http:', allow), patchHttp('node:https', 'https:', allow));
  if (options.http2 !== false) undos.push(patchHttp2(allow));
  const install: GlobalInstall = {
    allow,
    undici: options.fetch !== false,
    http2: options.http2 !== false,
    given: optionsKey(options),
    ignored: new Set(),
    uninstall: function graylaneUninstall(): void {
      if (state.install !== install) return;
      for (const undo of undos.reverse()) undo();
      if (install.undici) unwrapGlobalDispatcher();
      state.install = undefined;
    },
  };
  state.install = install;
  if (install.undici) {
    ensureHopGuard();
    // Node loads its bundled undici, and defines the global dispatcher, on first use of a fetch
    // global: use one now so there is a dispatcher to put the hook in front of.
    void globalThis.Headers;
    wrapGlobalDispatcher();
  }
  return install.uninstall;
}

function patchHttp(
  id: 'node:http' | 'node:https',
  protocol: 'http:' | 'https:',
  allow: Allowlist | undefined,
): () => void {
  const load = packageRequire();
  const mod = load(id) as HttpModule;
  const http = load('node:http') as HttpModule;
  const nodeClientRequest = ownClientRequest(load);
  const original = { request: mod.request, get: mod.get };
  let active = true;
  const request: RequestFn = function graylaneHttpRequest(this: unknown, ...args: unknown[]) {
    if (!active) return original.request.apply(this, args);
    // A head Node renders in the constructor is prepared first (I8); any other is judged when
    // it is rendered. A library that replaced `http.ClientRequest` (nock 13, msw) may never
    // render one: an `Expect` header cannot be held back there.
    const prepared = prepareRequest(
      args,
      () => httpTarget(args, undefined, protocol, mod.globalAgent),
      allow,
      nodeClientRequest !== undefined && http.ClientRequest === nodeClientRequest,
    );
    const req = original.request.apply(this, prepared?.args ?? args);
    injectClientRequest(req, () => httpTarget(args, req, protocol), allow, prepared);
    return req;
  };
  // Node's `get` is `request(...)` + `end()`, and `end()` flushes the head: wrapping the original
  // `get` would be too late to add a header, so `get` is rebuilt on the wrapped `request`.
  const get: RequestFn = function graylaneHttpGet(this: unknown, ...args: unknown[]) {
    if (!active) return original.get.apply(this, args);
    const req = request.apply(this, args);
    req.end();
    return req;
  };
  mod.request = request;
  mod.get = get;
  syncBuiltinESMExports();
  return () => {
    // MISC-01: give back only what is still ours. A wrapper installed on top of ours calls ours,
    // which from now on passes straight through, so that library keeps working.
    active = false;
    if (mod.request === request) mod.request = original.request;
    if (mod.get === get) mod.get = original.get;
    syncBuiltinESMExports();
  };
}

/** Node's own ClientRequest: `http.request` builds it whatever `http.ClientRequest` says. */
function ownClientRequest(load: (id: string) => unknown): unknown {
  try {
    return (load('_http_client') as HttpModule).ClientRequest;
  } catch {
    return undefined;
  }
}

/** What a call of {@link installGlobal} asks for, comparable between calls (RegExps as source). */
function optionsKey(options: InstallGlobalOptions | undefined): string | undefined {
  try {
    const o = options ?? {};
    return JSON.stringify([
      o.allowHosts === undefined ? null : [...o.allowHosts].map(String),
      o.fetch !== false,
      o.http !== false,
      o.http2 !== false,
    ]);
  } catch {
    return undefined;
  }
}

/**
 * A second call changes nothing (the first call's options stay in force): said once per other
 * set of options, so the app whose `allowHosts` were dropped hears of it (a shared bootstrap
 * that called `installGlobal()` first). Never throws.
 */
function warnIgnored(install: GlobalInstall, options: InstallGlobalOptions | undefined): void {
  try {
    const key = optionsKey(options);
    if (key === undefined || key === install.given || install.ignored?.has(key)) return;
    install.ignored?.add(key);
    process.emitWarning(
      `installGlobal() was already called, with other options: this call changes nothing (its allowHosts and switches are not used). Call the first uninstall() before installing again, or pass the same options everywhere.`,
      { code: 'GRAYLANE_INSTALLED_ALREADY' },
    );
  } catch {
    // A warning never breaks the caller (I1).
  }
}
