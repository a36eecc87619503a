import { GraylaneError } from '@graylane/core';
import { axiosProxies } from './axios-proxy.js';
import { ensureHopGuard } from './hop-guard.js';
import { applyHop, objectOps, type HeaderOps } from './hop-headers.js';
import { hopDispatcher, type DispatcherLike } from './hop-dispatcher.js';
import { compileOutbound, type OutboundOptions } from './options.js';
import { judgeHop, planCall, type HopPlan } from './plan.js';

/** The part of an axios request config graylane reads and extends. */
export interface AxiosConfigLike {
  url?: string | undefined;
  baseURL?: string | undefined;
  headers?: unknown;
  socketPath?: string | null | undefined;
  adapter?: unknown;
  proxy?: unknown;
  httpAgent?: unknown;
  transformRequest?: unknown;
  beforeRedirect?: unknown;
  fetchOptions?: unknown;
}

/** The part of an axios instance graylane uses (axios ≥ 1). */
export interface AxiosLike {
  readonly interceptors: {
    readonly request: {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios' own config type is not imported
      use(onFulfilled: (config: any) => any): number;
      eject(id: number): void;
    };
  };
  getUri?(config?: unknown): string;
}

type Transform = (this: AxiosConfigLike, data: unknown, headers: unknown) => unknown;
type BeforeRedirect = (options: RedirectOptionsLike, ...rest: unknown[]) => void;

/** What follow-redirects hands to `beforeRedirect`: the next hop, headers still editable. */
interface RedirectOptionsLike {
  href?: string;
  protocol?: string;
  hostname?: string;
  host?: string;
  port?: number | string;
  path?: string;
  headers?: Record<string, unknown>;
}

/**
 * Carries the current request's marker on an axios instance (the default one or your own), to
 * allowlisted hosts only; returns the eject function. A header the caller set is kept, and with
 * `installGlobal()` active too the header is still sent once (OUT-04).
 *
 * The decision is made on the **final** request: after every request interceptor, whenever it
 * was registered (CTX-14), in a `transformRequest` step graylane appends per request. Every
 * redirect hop is judged on its own target (RDR-01/02): through `beforeRedirect` with the http
 * adapter (follow-redirects), through a per-hop undici dispatcher with the fetch adapter.
 *
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'http://orders.internal' });
 * const eject = attachGray(api, { allowHosts: ['orders.internal'] });
 * ```
 */
export function attachGray(instance: AxiosLike, options?: OutboundOptions): () => void {
  if (typeof instance?.interceptors?.request?.use !== 'function')
    throw new GraylaneError('INVALID_OPTIONS', 'attachGray: pass an axios instance');
  const allow = compileOutbound(options);
  ensureHopGuard();
  const transform: Transform = function graylaneAxiosTransform(data, headers) {
    decide(instance, this, headers, allow);
    return data;
  };
  const id = instance.interceptors.request.use(function graylaneAxiosInterceptor(
    config: AxiosConfigLike,
  ) {
    try {
      const list = config.transformRequest;
      const fns = Array.isArray(list) ? list : typeof list === 'function' ? [list] : [];
      if (!fns.includes(transform)) config.transformRequest = [...(fns as unknown[]), transform];
    } catch {
      // I1: the request proceeds untouched.
    }
    return config;
  });
  return function graylaneEject(): void {
    instance.interceptors.request.eject(id);
  };
}

function decide(
  instance: AxiosLike,
  config: AxiosConfigLike,
  headers: unknown,
  allow: ReturnType<typeof compileOutbound>,
): void {
  try {
    const ops = axiosOps(headers ?? (config.headers ??= {}));
    const plan = planCall(allow, { has: (name) => ops.values(name).length > 0 });
    if (plan === undefined) return;
    // A unix socket is not a host: never allowlisted.
    const target = config.socketPath ? undefined : targetUrl(instance, config);
    applyHop(plan, judgeHop(plan, withProxies(config, target)), ops);
    config.beforeRedirect = redirectHook(plan, config, config.beforeRedirect);
    const fetchOptions = (config.fetchOptions ?? {}) as { dispatcher?: DispatcherLike };
    config.fetchOptions = {
      ...fetchOptions,
      dispatcher: hopDispatcher(plan, fetchOptions.dispatcher),
    };
  } catch {
    // I1: the request proceeds as the interceptors left it.
  }
}

/**
 * follow-redirects: run the caller's hook, then judge the next hop as it will be sent (review 56
 * D1: a hook that writes the caller's headers on each hop ran after the judgement, so its marker
 * reached a host off the allowlist): on its own target and on every forward proxy it may go
 * through (the same proxy logic as the first hop: `config.proxy`, the environment, the
 * `httpAgent`'s proxy for http: hops; I8). A hook that throws fails the hop, as without graylane.
 */
function redirectHook(plan: HopPlan, config: AxiosConfigLike, own: unknown): BeforeRedirect {
  return function graylaneBeforeRedirect(this: unknown, options, ...rest) {
    if (typeof own === 'function') (own as BeforeRedirect).call(this, options, ...rest);
    try {
      applyHop(
        plan,
        judgeHop(plan, redirectHosts(config, options)),
        objectOps((options.headers ??= {})),
      );
    } catch {
      // I1
    }
  };
}

/**
 * Every host the next hop may reach: what the options name (see `redirectTarget`) and the
 * proxies `withProxies` finds for its `href`. Undefined (the marker is withheld) when either
 * cannot be read.
 */
function redirectHosts(
  config: AxiosConfigLike,
  options: RedirectOptionsLike,
): readonly string[] | undefined {
  const named = redirectTarget(options);
  const href = typeof options.href === 'string' ? options.href : undefined;
  const proxied = withProxies(config, href);
  if (named === undefined || proxied === undefined) return undefined;
  const all = [...(typeof named === 'string' ? [named] : named)];
  for (const h of typeof proxied === 'string' ? [proxied] : proxied) all.push(h);
  return all;
}

/**
 * The hosts the next hop reaches. axios re-applies its proxy before graylane's hook runs: then
 * the options name the proxy and the path is the absolute-form URL (`href` still the target),
 * and both are judged (I8).
 */
function redirectTarget(options: RedirectOptionsLike): string | readonly string[] | undefined {
  let connected: string | undefined;
  if (typeof options.protocol === 'string' && typeof options.hostname === 'string') {
    const host = options.hostname.includes(':') ? `[${options.hostname}]` : options.hostname;
    const port =
      options.port === undefined || options.port === '' ? '' : `:${String(options.port)}`;
    connected = `${options.protocol}//${host}${port}`;
  }
  const path = options.path;
  if (typeof path === 'string' && /^https?:\/\//i.test(path))
    return connected === undefined ? undefined : [connected, path];
  return typeof options.href === 'string' ? options.href : connected;
}

/** The target and every forward proxy the http adapter may send it through (see axios-proxy.ts). */
function withProxies(
  config: AxiosConfigLike,
  target: string | undefined,
): string | readonly string[] | undefined {
  if (target === undefined) return undefined;
  const proxies = axiosProxies(config, target);
  if (proxies === undefined) return undefined;
  return proxies.length === 0 ? target : [...proxies, target];
}

function targetUrl(instance: AxiosLike, config: AxiosConfigLike): string | undefined {
  try {
    if (typeof instance.getUri === 'function') return instance.getUri(config);
    return new URL(config.url ?? '', config.baseURL).href;
  } catch {
    return undefined;
  }
}

interface HeaderBag {
  get?(name: string): unknown;
  set?(name: string, value: string): unknown;
  delete?(name: string): unknown;
}

/** AxiosHeaders (case-insensitive `get`/`set`/`delete`) or a plain object. */
function axiosOps(headers: unknown): HeaderOps {
  const bag = headers as HeaderBag;
  if (
    typeof bag.get !== 'function' ||
    typeof bag.set !== 'function' ||
    typeof bag.delete !== 'function'
  )
    return objectOps(headers as Record<string, unknown>);
  return {
    values(name) {
      const v = bag.get?.(name);
      if (v === undefined || v === null || v === false) return [];
      return Array.isArray(v) ? v.map(String) : [String(v)];
    },
    set: (name, value) => void bag.set?.(name, value),
    remove: (name) => void bag.delete?.(name),
  };
}
