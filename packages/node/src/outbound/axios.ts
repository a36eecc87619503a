import { GraylaneError } from '@graylane/core';
import { firstHop, redirectHop } from './axios-connection.js';
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
  httpsAgent?: unknown;
  httpVersion?: unknown;
  http2Options?: unknown;
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

/**
 * What follow-redirects hands to `beforeRedirect`: the options of the next hop, which it then
 * passes to `http.request` (headers, host, port, agents: all still editable).
 */
interface RedirectOptionsLike {
  [key: string]: unknown;
  href?: unknown;
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
 * adapter (follow-redirects), through a per-hop undici dispatcher with the fetch adapter. With
 * the http adapter each request is judged where Node connects it, as `installGlobal()` judges
 * one (CTX-13, axios-connection.ts): the agent's own host and port win, and a connection other
 * code makes gets no marker.
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
    applyHop(plan, judgeHop(plan, firstHop(config, target)), ops);
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
 * reached a host off the allowlist) and where it will connect (review 81 D1: a hook that moves
 * the hop — `hostname`, `host`, `port`, `protocol`, `socketPath`, `agents` — is judged on what it
 * wrote, never on `href`, which Node does not read), with every forward proxy it may go through
 * (the same proxy logic as the first hop, for the `href` axios applied it to before the hook;
 * I8). A hook that throws fails the hop, as without graylane.
 */
function redirectHook(plan: HopPlan, config: AxiosConfigLike, own: unknown): BeforeRedirect {
  return function graylaneBeforeRedirect(this: unknown, options, ...rest) {
    let href: unknown;
    try {
      href = options.href;
    } catch {
      // I1: no href, no hop judged on it (refused below).
    }
    if (typeof own === 'function') (own as BeforeRedirect).call(this, options, ...rest);
    try {
      applyHop(
        plan,
        judgeHop(plan, redirectHop(config, options, href)),
        objectOps((options.headers ??= {})),
      );
    } catch {
      // I1
    }
  };
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
