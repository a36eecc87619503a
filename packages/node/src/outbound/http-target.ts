import http from 'node:http';
import https from 'node:https';

/** What graylane reads back from the `ClientRequest` Node built (its own resolution). */
export interface ResolvedRequestLike {
  readonly agent?: unknown;
  readonly host?: unknown;
  readonly protocol?: unknown;
  readonly path?: unknown;
  readonly socketPath?: unknown;
  readonly method?: unknown;
}

type Options = Record<string, unknown>;

/**
 * @internal The target of `http.request(…)` / `https.request(…)` exactly as Node's
 * `lib/_http_client.js` resolves it (CTX-13), so the allowlist judges the host Node connects to:
 * - the options Node merges (see {@link requestOptions}): a URL's fields, then the options' own
 *   enumerable fields over them; so a URL's `hostname` beats `options.host`;
 * - host: `hostname || host || 'localhost'` (the `Host` header never counts);
 * - port: `port || defaultPort || agent.defaultPort || 80/443`;
 * - a `socketPath` connects to a local socket, not a host: no target (never allowlisted);
 * - the host Node connects to is known only when Node's Agent (or Node's `net`, with no agent)
 *   makes the connection, see {@link connection}: the agent's own `options.host`/`port` then win,
 *   as Node merges them over the request's. A `createConnection` in the options, and one (or
 *   `addRequest`/`createSocket`) set on the agent object itself, connect wherever that code
 *   chooses: no target, as for `socketPath` (CTX-13, review 128 D2). An agent that names its
 *   proxy (`agent.proxy`: http-proxy-agent, https-proxy-agent, socks-proxy-agent) is judged on
 *   that proxy and the target, whatever the path form (a CONNECT or SOCKS tunnel, too);
 * - a `lookup` resolves the name Node connects to (Node calls it for names, never for an IP
 *   literal): the name is what is judged, as with DNS;
 * - an absolute-form path (`http://…` or `https://…`: a forward proxy) reaches two hosts, the
 *   proxy and the URL in the path: both are returned, and both must be allowed. The proxy is the
 *   agent's when it names one: Node's own from the environment (`NODE_USE_ENV_PROXY`, an Agent's
 *   `proxyEnv`: Node rewrites the path of a plain `http:` request it proxies, see
 *   {@link envProxy}), or http-proxy-agent's `agent.proxy` (it rewrites the path and connects to
 *   the proxy while `req.host` still names the target); a path rewritten after the caller's
 *   arguments without a proxy named has no target (whoever it connects to cannot be told); a
 *   path the caller wrote that way is sent to the host Node connects to;
 * - any other path not starting with `/` (authority-form, a scheme-less `host:port/x`) and a
 *   `CONNECT` have no target: the head goes to the host Node connects to, whatever the path
 *   names, so nothing in the path can vouch for that host.
 * `req` is the ClientRequest Node built from the same arguments: its `agent`/`host`/`protocol`/
 * `path`/`method` are Node's own answer and win when present. Without it (a head Node renders in
 * its constructor, judged before the request is built) the agent is the one Node would take
 * (`options.agent`, else `defaultAgent` unless `createConnection` is given), and a request Node
 * would send through a proxy from the environment has no target: the constructor rewrites its
 * path and `Host` before rendering, from values this cannot see. Never throws.
 */
export function httpTarget(
  args: readonly unknown[],
  req: ResolvedRequestLike | undefined,
  moduleProtocol: 'http:' | 'https:',
  defaultAgent?: unknown,
): string | readonly string[] | undefined {
  try {
    const opts = requestOptions(args);
    if (truthy(req?.socketPath) || truthy(opts.socketPath)) return undefined;
    const method = str(req?.method) ?? str(opts.method);
    if (method !== undefined && method.toUpperCase() === 'CONNECT') return undefined;
    const agent = req ? req.agent : nodeAgent(opts, defaultAgent);
    const protocol = str(req?.protocol) ?? (str(opts.protocol) || moduleProtocol);
    const host = str(req?.host) ?? (str(opts.hostname) || str(opts.host) || 'localhost');
    const fallbackPort = protocol === 'https:' ? 443 : 80;
    const port = opts.port || opts.defaultPort || agentField(agent, 'defaultPort') || fallbackPort;
    const path = str(req?.path) ?? str(opts.path);
    const relative = path === undefined || path.startsWith('/') || path === '*';
    const absolute = path !== undefined && /^https?:\/\//i.test(path);
    if (!relative && !absolute) return undefined;
    const named = (connected: string): string => (absolute ? new URL(path).origin : connected);
    const proxy = agentProxy(agent);
    if (proxy === null) return undefined;
    if (proxy !== undefined) return [proxy, named(origin(protocol, host, port))];
    const to = connection(agent, opts, host, port);
    if (to === undefined) return undefined;
    const connected = origin(protocol, to.host, to.port);
    const env = envProxy(agent, str(opts.protocol) || agentField(agent, 'protocol'), host, port);
    if (env !== undefined) {
      if (env === null || req === undefined) return undefined;
      return [env, named(connected)];
    }
    if (relative) return connected;
    // Rewritten after the caller's arguments (an agent that proxies without saying where to).
    if (path !== (str(opts.path) ?? path)) return undefined;
    return [connected, named(connected)];
  } catch {
    return undefined;
  }
}

/** `protocol//host:port` as a URL origin (throws on what is not one: refused by the caller). */
function origin(protocol: string, host: string, port: unknown): string {
  return new URL(`${protocol}//${bracket(host)}:${String(port)}`).origin;
}

/** Node's own Agent prototypes, whose connecting methods an agent object may carry as its own. */
const NODE_AGENTS = [http.Agent.prototype, https.Agent.prototype] as unknown as Options[];

/** The methods through which Node's Agent turns a request into a connection (Node 20–24). */
const CONNECTING = ['addRequest', 'createSocket', 'createConnection'] as const;

/**
 * The host and port Node's own code connects this request to, or undefined when other code
 * makes the connection (it may go anywhere, which cannot be told before the head is rendered):
 * - no agent: the options' `createConnection` when it is a function (Node calls it and uses the
 *   socket it returns), else Node's `net.createConnection` to the request's host and port;
 * - an agent: Node merges the agent's `options` over the request's, so their `host` and `port`
 *   win; a `socketPath` or `path` among them is a local socket. An `addRequest`, `createSocket`
 *   or `createConnection` set on the agent object itself (not Node's) connects wherever that
 *   code chooses: no target. One from the agent's class is taken to connect where Node's
 *   would — agentkeepalive, the mock agents of msw and nock 14, `tunnel`'s CONNECT agents all
 *   do; agent-base's proxy agents name their proxy (above) — so a subclass that connects
 *   somewhere else is the app's own choice, documented in docs/node.md.
 * Read on every call: an agent's methods and options can change at any time.
 */
function connection(
  agent: unknown,
  opts: Options,
  host: string,
  port: unknown,
): { host: string; port: unknown } | undefined {
  if (typeof agent !== 'object' || agent === null)
    return typeof opts.createConnection === 'function' ? undefined : { host, port };
  const a = agent as Options;
  for (const name of CONNECTING)
    if (own(a, name) && !NODE_AGENTS.some((p) => a[name] === p[name])) return undefined;
  if (typeof a.options !== 'object' || a.options === null) return { host, port };
  const o = a.options as Options;
  if (truthy(o.socketPath) || truthy(o.path)) return undefined;
  return mergedConnection(host, port, o);
}

/**
 * @internal Where Node connects when `options` are spread over a host and port: a Node Agent's
 * `options` over the request's (`Agent#addRequest`), `http2.connect`'s options over its
 * authority's (`net.connect({ port, host, ...options })`, `tls.connect(port, host, options)`).
 * An own `host` or `port` wins as it is, even empty (Node 20–24): `host: ''` connects to
 * localhost, a `port` of `0` or `'0'` to port 0, and `''`, `null`, `undefined` or a non-port
 * throw in `net`. Unlike `http.request`'s own `port: 0`, which is its default port (see
 * {@link httpTarget}): that one is not merged here. Refused (undefined): a `host` that is not a
 * non-empty string, a `port` that is neither a number nor a non-blank string. `socketPath` and
 * `path` are the caller's to check.
 */
export function mergedConnection(
  host: string,
  port: unknown,
  options: Options,
): { host: string; port: unknown } | undefined {
  if (own(options, 'host') && (typeof options.host !== 'string' || options.host === ''))
    return undefined;
  if (own(options, 'port') && !isPortLike(options.port)) return undefined;
  return {
    host: own(options, 'host') ? (options.host as string) : host,
    port: own(options, 'port') ? options.port : port,
  };
}

function isPortLike(value: unknown): boolean {
  return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '');
}

function own(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * The agent Node takes for these options. `agent: false` is a fresh agent of the default one's
 * class: judged as the default one (a process set up to proxy from the environment may give it
 * the same proxy; if it does not, the judgement only errs on the closed side).
 */
function nodeAgent(opts: Options, defaultAgent: unknown): unknown {
  const agent = opts.agent;
  if (agent !== undefined && agent !== null && agent !== false) return agent;
  if (agent !== false && typeof opts.createConnection === 'function') return undefined;
  return opts._defaultAgent || defaultAgent;
}

/**
 * @internal The forward proxy Node itself sends a request through, from the environment
 * (`NODE_USE_ENV_PROXY=1` with `HTTP_PROXY`, or an Agent's `proxyEnv`; Node ≥ 22.21 and ≥ 24.5):
 * the agent's `kProxyConfig`, which Node consults in the ClientRequest constructor for a plain
 * `http:` request (an `https:` one is tunnelled: the head goes to the target only). Its origin
 * when Node proxies this host and port (its own `shouldUseProxy`, so `NO_PROXY` counts as Node
 * reads it), undefined when it does not, null when the configuration cannot be read (refused).
 */
export function envProxy(
  agent: unknown,
  protocol: string | undefined,
  host: string,
  port: unknown,
): string | null | undefined {
  if (typeof agent !== 'object' || agent === null) return undefined;
  let config: unknown;
  try {
    config = proxyConfigOf(agent);
  } catch {
    return null;
  }
  if (typeof config !== 'object' || config === null || protocol !== 'http:') return undefined;
  try {
    const { shouldUseProxy, href } = config as { shouldUseProxy?: unknown; href?: unknown };
    if (typeof shouldUseProxy !== 'function' || typeof href !== 'string') return null;
    if (shouldUseProxy.call(config, host, port) !== true) return undefined;
    return new URL(href).origin;
  } catch {
    return null;
  }
}

/**
 * The agent's `kProxyConfig`, read as Node reads it (`agent[kProxyConfig]`, through the
 * prototype chain: an agent made with `Object.create(proxyAgent)` inherits it; review 77 D2).
 * The symbol is Node's own, found by its description on the first object that has it.
 */
function proxyConfigOf(agent: object): unknown {
  let o: object | null = agent;
  for (
    let depth = 0;
    o !== null && depth < 32;
    depth++, o = Object.getPrototypeOf(o) as object | null
  ) {
    const key = Object.getOwnPropertySymbols(o).find((s) => s.description === 'kProxyConfig');
    if (key !== undefined) return (agent as Record<symbol, unknown>)[key];
  }
  return undefined;
}

function agentField(agent: unknown, name: 'defaultPort' | 'protocol'): string | undefined {
  if (typeof agent !== 'object' || agent === null) return undefined;
  const value = (agent as Options)[name];
  return typeof value === 'number' ? String(value) : str(value);
}

/**
 * The forward proxy an agent names (`agent.proxy`: a URL, a string, or `{ protocol, hostname |
 * host, port }` — http-proxy-agent 5–9), as an origin; undefined when it names none, null when
 * it names one that cannot be read (refused).
 */
function agentProxy(agent: unknown): string | null | undefined {
  if (typeof agent !== 'object' || agent === null || !('proxy' in agent)) return undefined;
  const proxy = (agent as { proxy?: unknown }).proxy;
  if (proxy === undefined || proxy === null || proxy === false) return undefined;
  try {
    if (typeof proxy === 'string' || proxy instanceof URL) return new URL(proxy).origin;
    const p = proxy as Options;
    const protocol = str(p.protocol) ?? 'http:';
    const host = str(p.hostname) ?? str(p.host);
    if (host === undefined) return null;
    const port = p.port === undefined || p.port === '' ? '' : `:${String(p.port)}`;
    const scheme = protocol.endsWith(':') ? protocol : `${protocol}:`;
    return new URL(`${scheme}//${bracket(host)}${port}`).origin;
  } catch {
    return null;
  }
}

/**
 * The options Node's ClientRequest works from (Node 20–24): `(url | URL, options?)`
 * is the URL's fields with the options' own enumerable fields over them; `(options)` is a copy of
 * the options' own enumerable fields (inherited ones are not read). Anything Node takes for a URL
 * (`isURL`: a truthy `href` and `protocol`, no `auth` or `path`) counts as one.
 */
function requestOptions(args: readonly unknown[]): Options {
  const [first, second] = args;
  let input: Options;
  if (typeof first === 'string') input = urlOptions(new URL(first) as unknown as Options);
  else if (isUrl(first)) input = urlOptions(first);
  else return typeof first === 'object' && first !== null ? { ...first } : {};
  if (typeof second === 'object' && second !== null) Object.assign(input, second);
  return input;
}

/** Node's `isURL` (lib/internal/url.js). */
export function isUrl(value: unknown): value is Options {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Options;
  return Boolean(v.href) && Boolean(v.protocol) && v.auth === undefined && v.path === undefined;
}

/** Node's `urlToHttpOptions`: the fields of a URL (or URL-like object) that `http.request` reads. */
function urlOptions(url: Options): Options {
  const { hostname, pathname, search } = url;
  const out: Options = {
    ...url,
    protocol: url.protocol,
    hostname:
      typeof hostname === 'string' && hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
    pathname,
    search,
    path: `${str(pathname) ?? ''}${str(search) ?? ''}`,
  };
  if (url.port !== '') out.port = Number(url.port);
  return out;
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && value !== false;
}
