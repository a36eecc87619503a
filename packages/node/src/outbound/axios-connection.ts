import http from 'node:http';
import https from 'node:https';
import { axiosProxies, isFetchAdapter, type AxiosProxyConfigLike } from './axios-proxy.js';
import { httpTarget } from './http-target.js';
import { connectedOrigin } from './http2-target.js';

type Options = Record<string, unknown>;
type Hosts = string | readonly string[] | undefined;

/** The part of an axios request config that decides where its requests connect. */
export interface AxiosConnectionConfigLike extends AxiosProxyConfigLike {
  httpsAgent?: unknown;
  httpVersion?: unknown;
  http2Options?: unknown;
  transport?: unknown;
}

/**
 * @internal Every host the first request of an axios call reaches, all of which must be
 * allowlisted (I8, CTX-13): each forward proxy it may go through (axios-proxy.ts) with the target
 * its absolute-form path names, and the hosts Node connects to (review 81 D2). With the http
 * adapter those are judged as `installGlobal` judges any `http.request` (http-target.ts
 * `httpTarget`, docs/node.md "The real connection"), on the options axios hands to
 * follow-redirects or Node for the target, and for each proxy of an `http:` target it addresses
 * instead: the agent of the scheme (`httpAgent`/`httpsAgent`, else Node's global one) decides —
 * its own `options.host`/`port` win, a `socketPath` among them or an `addRequest`,
 * `createSocket` or `createConnection` of its own connects elsewhere (no target: no marker),
 * a proxy it names counts; so does a `transport` of the caller's (Node's `http`/`https` aside).
 * An explicit `config.proxy` replaces an `http:` target (axios always applies it); an `https:`
 * one is still judged on the target's agent (axios tunnels it through an agent of its own,
 * unless `httpsAgent` is a proxy agent: fail closed). HTTP/2 (`httpVersion: 2`) uses no agent:
 * `http2.connect(target, http2Options)` decides, judged as `installGlobal` judges it
 * (http2-target.ts `connectedOrigin`), the target beside it (the `:authority` sent). The
 * fetch adapter connects through undici, judged per hop by its dispatcher (axios.ts). Undefined
 * (refused) when anything cannot be read. Never throws.
 */
export function firstHop(config: AxiosConnectionConfigLike, target: string | undefined): Hosts {
  if (target === undefined) return undefined;
  try {
    const proxies = axiosProxies(config, target);
    if (proxies === undefined) return undefined;
    const named = proxies.length === 0 ? [] : [...proxies, target];
    if (isFetchAdapter(config.adapter)) return proxies.length === 0 ? target : named;
    const hosts = new Set(named);
    // axios reads `httpVersion` once, with unary `+` (review 84 D1): anything but a number or a
    // string (`[2]`, a boxed number, an object with `valueOf`) may read otherwise there than
    // here, so it is refused.
    const version = config.httpVersion;
    if (version !== undefined && typeof version !== 'number' && typeof version !== 'string')
      return undefined;
    if (isHttp2(version)) {
      hosts.add(target);
      return add(hosts, connectedOrigin(target, config.http2Options) ?? undefined)
        ? [...hosts]
        : undefined;
    }
    // A `transport` of the caller's is code that connects where it likes (review 81): no marker.
    // axios uses one only when truthy; Node's own modules connect as judged below (told by their
    // `request`: axios' config merge copies a plain object, and Node's modules are ones).
    if (!nativeTransport(config.transport)) return undefined;
    const explicit = typeof config.proxy === 'object' && config.proxy !== null;
    const url = new URL(target);
    const addressed =
      url.protocol === 'http:' ? [...proxies, ...(explicit ? [] : [target])] : [target];
    const agents = { http: config.httpAgent, https: config.httpsAgent };
    for (const to of addressed) if (!add(hosts, nodeHop(urlOptions(to, agents)))) return undefined;
    return [...hosts];
  } catch {
    return undefined;
  }
}

/**
 * @internal Every host one redirect hop of the http adapter reaches, judged on the options
 * follow-redirects is about to pass to `http.request` — after every `beforeRedirect`, the
 * caller's included, which may have moved the hop anywhere (review 81 D1) — as Node connects for
 * them (see {@link nodeHop}): `href` is never read there. With the proxies axios and Node may send
 * `href` through (axios re-applied its proxy for it before the caller's hook ran: `href` is read
 * before that hook), as on the first hop. Undefined (refused) when anything cannot be read.
 * Never throws.
 */
export function redirectHop(
  config: AxiosConnectionConfigLike,
  options: Options,
  href: unknown,
): Hosts {
  try {
    const reached = nodeHop(options);
    const proxies = typeof href === 'string' ? axiosProxies(config, href) : undefined;
    if (reached === undefined || proxies === undefined) return undefined;
    return [...(typeof reached === 'string' ? [reached] : reached), ...proxies];
  } catch {
    return undefined;
  }
}

/**
 * Where `http.request(options)` (or `https.request`) connects for options as follow-redirects
 * passes them (1.15–1.16 `_sanitizeOptions`, `_performRequest`): a truthy `host` becomes the
 * `hostname` when that is empty and is then dropped; the module is the one of `protocol`; the
 * agent is `agents[scheme]` when `agents` is set, else `agent`. Node (lib/_http_client.js) takes
 * `agent: false` as a fresh agent of the default one's class (judged as the default one, as
 * http-target.ts does), and no agent as the default one unless `createConnection` is given. The
 * rest is http-target.ts' own judgement, handed Node's agent.
 */
function nodeHop(options: Options): Hosts {
  const o: Options = { ...options };
  if (o.host) {
    if (!o.hostname) o.hostname = o.host;
    delete o.host;
  }
  const protocol = o.protocol;
  if (protocol !== 'http:' && protocol !== 'https:') return undefined;
  if (typeof o.agents === 'object' && o.agents !== null)
    o.agent = (o.agents as Options)[protocol.slice(0, -1)];
  const fallback = protocol === 'https:' ? https.globalAgent : http.globalAgent;
  const given = o.agent;
  const agent =
    given === false || ((given === undefined || given === null) && !isFunction(o.createConnection))
      ? fallback
      : given;
  return httpTarget([o], { agent }, protocol);
}

/** The options axios' http adapter builds for `to` (`hostname` unbracketed, `port` a string). */
function urlOptions(to: string, agents: Options): Options {
  const url = new URL(to);
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port,
    path: `${url.pathname}${url.search}`,
    agents,
    createConnection: undefined,
  };
}

/** No transport (axios picks Node's or follow-redirects'), or Node's `http`/`https` (a copy too). */
function nativeTransport(transport: unknown): boolean {
  if (!transport) return true;
  const request = (transport as { request?: unknown }).request;
  return request === http.request || request === https.request;
}

/** axios' `+httpVersion === 2`, for a number or a string. */
function isHttp2(version: number | string | undefined): boolean {
  return version !== undefined && Number(version) === 2;
}

/** Adds `found` (one host or several) to `hosts`; false when it is undefined (refused). */
function add(hosts: Set<string>, found: Hosts): boolean {
  if (found === undefined) return false;
  for (const h of typeof found === 'string' ? [found] : found) hosts.add(h);
  return true;
}

function isFunction(value: unknown): boolean {
  return typeof value === 'function';
}
