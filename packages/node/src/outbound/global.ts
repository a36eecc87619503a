import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { Allowlist } from '@graylane/core';
import { injectClientRequest, targetOf, type ClientRequestLike } from './http-client.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { onUndiciRequest } from './undici-channel.js';

/** Options of {@link installGlobal}. */
export interface InstallGlobalOptions extends OutboundOptions {
  /** Cover global `fetch` and every undici client (`undici:request:create`). Default `true`. */
  readonly fetch?: boolean;
  /** Cover `http.request`/`http.get`/`https.request`/`https.get` (and clients on them, e.g. axios). Default `true`. */
  readonly http?: boolean;
}

type RequestFn = (...args: unknown[]) => ClientRequestLike & { end(): unknown };
interface HttpModule {
  request: RequestFn;
  get: RequestFn;
}

const UNDICI_CHANNEL = 'undici:request:create';
const INSTALLED = Symbol.for('@graylane/node.installGlobal');
type GlobalSlot = { [INSTALLED]?: () => void };

/**
 * Opt-in process-wide propagation: global `fetch` (Node's bundled undici) and npm undici through
 * the `undici:request:create` diagnostics channel, and `http`/`https` by wrapping
 * `request`/`get` (Node 20 publishes `http.client.request.start` only after the head is flushed,
 * so a channel cannot add headers there). Nothing happens on import; this installs at most once
 * per process — a second call returns a no-op — and the returned function uninstalls it.
 *
 * @example
 * ```ts
 * const uninstall = installGlobal({ allowHosts: ['orders.internal', /^http:\/\/[a-z-]+\.svc\.cluster\.local(:\d+)?$/] });
 * // … on shutdown
 * uninstall();
 * ```
 */
export function installGlobal(options: InstallGlobalOptions = {}): () => void {
  const slot = globalThis as GlobalSlot;
  if (slot[INSTALLED]) return function graylaneAlreadyInstalled() {};
  const allow = compileOutbound(options);
  const undos: (() => void)[] = [];
  if (options.fetch !== false) undos.push(subscribeUndici(allow));
  if (options.http !== false)
    undos.push(patchHttp('node:http', 'http:', allow), patchHttp('node:https', 'https:', allow));
  const uninstall = function graylaneUninstall(): void {
    if (slot[INSTALLED] !== uninstall) return;
    for (const undo of undos.reverse()) undo();
    delete slot[INSTALLED];
  };
  slot[INSTALLED] = uninstall;
  return uninstall;
}

function subscribeUndici(allow: Allowlist | undefined): () => void {
  const listener = (message: unknown): void => onUndiciRequest(message, allow);
  diagnosticsChannel.subscribe(UNDICI_CHANNEL, listener);
  return () => {
    diagnosticsChannel.unsubscribe(UNDICI_CHANNEL, listener);
  };
}

function patchHttp(
  id: 'node:http' | 'node:https',
  protocol: 'http:' | 'https:',
  allow: Allowlist | undefined,
): () => void {
  const mod = createRequire(import.meta.url)(id) as HttpModule;
  const original = { request: mod.request, get: mod.get };
  const request: RequestFn = function graylaneHttpRequest(this: unknown, ...args: unknown[]) {
    const req = original.request.apply(this, args);
    injectClientRequest(req, targetOf(args, protocol), allow);
    return req;
  };
  // Node's `get` is `request(...)` + `end()`, and `end()` flushes the head: wrapping the original
  // `get` would be too late to add a header, so `get` is rebuilt on the wrapped `request`.
  const get: RequestFn = function graylaneHttpGet(this: unknown, ...args: unknown[]) {
    const req = request.apply(this, args);
    req.end();
    return req;
  };
  mod.request = request;
  mod.get = get;
  syncBuiltinESMExports();
  return () => {
    mod.request = original.request;
    mod.get = original.get;
    syncBuiltinESMExports();
  };
}
