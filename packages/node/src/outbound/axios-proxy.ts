import http from 'node:http';
import { envProxy } from './http-target.js';

/** The part of an axios request config that decides whether it goes through a forward proxy. */
export interface AxiosProxyConfigLike {
  adapter?: unknown;
  proxy?: unknown;
  httpAgent?: unknown;
}

/**
 * The environment variables that name a proxy, exactly as proxy-from-env 2 (axios ≥ 1.21) reads
 * them, each in lower then upper case. Its 1.x versions also read `npm_config_*`, which npm
 * exports to every script; axios no longer does, so they do not withhold the marker.
 */
const ENV_NAMES = (scheme: string): string[] => [`${scheme}_proxy`, 'all_proxy'];

/**
 * @internal The forward proxies axios' http adapter may send a request for `target` through, as
 * origins, so the allowlist judges every host the head reaches (I8). Two layers route it:
 * - axios: `config.proxy` (unless `false`), else the proxy the environment names for the
 *   target's scheme unless `NO_PROXY` exempts it (proxy-from-env, read live), and the `proxy` an
 *   `httpAgent` names (http-proxy-agent);
 * - Node's http Agent, when it proxies from the environment itself (`NODE_USE_ENV_PROXY`,
 *   `--use-env-proxy`, an Agent's `proxyEnv`; Node ≥ 22.21 / 24.5): its own proxy config, read
 *   as Node reads it (`NO_PROXY` as Node parsed it when the agent was made, not the live
 *   environment), for every host the request may be addressed to — the target of a plain
 *   `http:` request, and each plain-`http:` proxy axios may address it to instead.
 * axios ≥ 1.21 leaves the environment to such an agent and, with `proxy: false`, sends through
 * a copy of it without the proxy; earlier versions read the environment anyway and keep the
 * agent. graylane cannot tell the versions apart (an axios instance does not carry its
 * version), so every proxy either may use counts, as does a proxy axios might tunnel to (an
 * https target) or bypass by a `NO_PROXY` form only it reads: the marker then needs it
 * allowlisted too (fail closed). An https target Node tunnels through its own proxy is judged
 * on the target. The fetch adapter reads none of these. Undefined when a proxy cannot be read
 * (refused). Never throws.
 */
export function axiosProxies(config: AxiosProxyConfigLike, target: string): string[] | undefined {
  try {
    if (isFetchAdapter(config.adapter)) return [];
    const url = new URL(target);
    const own = config.proxy;
    const explicit = typeof own === 'object' && own !== null;
    const viaAxios: string[] = [];
    if (explicit) viaAxios.push(proxyOrigin(own, 'http:'));
    else if (own !== false && !noProxy(url)) viaAxios.push(...envProxies(url));
    const out = new Set(viaAxios);
    const agentProxy = (config.httpAgent as { proxy?: unknown } | undefined)?.proxy;
    if (url.protocol === 'http:' && agentProxy !== undefined && agentProxy !== null)
      out.add(proxyOrigin(agentProxy, 'http:'));
    // The hosts Node's http Agent may be asked to connect to: an explicit proxy replaces the
    // target (axios always applies it); one from the environment may or may not (see above).
    const addressed = viaAxios.filter((p) => p.startsWith('http:'));
    if (url.protocol === 'http:' && !explicit) addressed.push(url.origin);
    const agent = config.httpAgent || http.globalAgent;
    for (const to of addressed) {
      const { hostname, port } = new URL(to);
      const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
      const node = envProxy(agent, 'http:', host, port || defaultPort(agent));
      if (node === null) return undefined;
      if (node !== undefined) out.add(node);
    }
    return [...out];
  } catch {
    return undefined;
  }
}

/** The port Node gives a request without one: `agent.defaultPort`, else 80 (lib/_http_client.js). */
function defaultPort(agent: unknown): number | string {
  const port = (agent as { defaultPort?: unknown } | null)?.defaultPort;
  return typeof port === 'number' || (typeof port === 'string' && port !== '') ? port : 80;
}

/**
 * @internal `adapter: 'fetch'`, or a list whose first adapter Node has is `fetch` (xhr: none in
 * Node): axios sends through undici, not `http.request`.
 */
export function isFetchAdapter(adapter: unknown): boolean {
  if (adapter === 'fetch') return true;
  if (!Array.isArray(adapter)) return false;
  const first = adapter.find(
    (a) =>
      !(
        a === 'xhr' &&
        typeof (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest !== 'function'
      ),
  );
  return first === 'fetch';
}

/** An axios proxy config (`{ protocol, host | hostname, port }`), a URL or a string, as an origin. */
function proxyOrigin(proxy: unknown, scheme: string): string {
  if (typeof proxy === 'string')
    return new URL(proxy.includes('://') ? proxy : `${scheme}//${proxy}`).origin;
  if (proxy instanceof URL) return proxy.origin;
  const p = proxy as Record<string, unknown>;
  const host = p['hostname'] ?? p['host'];
  if (typeof host !== 'string' || host === '') throw new TypeError('no proxy host');
  const raw = typeof p['protocol'] === 'string' ? p['protocol'] : scheme;
  const protocol = raw.endsWith(':') ? raw : `${raw}:`;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = p['port'] === undefined || p['port'] === '' ? '' : `:${String(p['port'])}`;
  return new URL(`${protocol}//${bracketed}${port}`).origin;
}

function env(name: string): string {
  return process.env[name.toLowerCase()] || process.env[name.toUpperCase()] || '';
}

/** Every proxy the environment may name for `url` (each library reads its own subset). */
function envProxies(url: URL): string[] {
  const scheme = url.protocol.slice(0, -1);
  const found = new Set<string>();
  for (const name of ENV_NAMES(scheme)) {
    const value = env(name);
    if (value !== '') found.add(proxyOrigin(value, url.protocol));
  }
  return [...found];
}

/** proxy-from-env's `NO_PROXY` test: exact host or `.suffix`/`*suffix`, optional `:port`. */
function noProxy(url: URL): boolean {
  const list = env('no_proxy').toLowerCase();
  if (list === '') return false;
  if (list === '*') return true;
  const host = url.host.replace(/:\d*$/, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return list.split(/[,\s]/).some((entry) => {
    if (entry === '') return false;
    const m = /^(.+):(\d+)$/.exec(entry);
    let name = m ? (m[1] as string) : entry;
    if (m && Number(m[2]) !== port) return false;
    if (!/^[.*]/.test(name)) return host === name;
    if (name.startsWith('*')) name = name.slice(1);
    return host.endsWith(name);
  });
}
