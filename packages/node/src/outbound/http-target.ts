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
 * - `(url, options)`: the URL's fields, then the options' own enumerable fields over them
 *   (`ObjectAssign(input, options)`); so a URL's `hostname` beats `options.host`;
 * - `(options)`: the object as given (inherited properties count too);
 * - host: `hostname || host || 'localhost'` (the `Host` header never counts);
 * - port: `port || defaultPort || agent.defaultPort || 80/443`;
 * - a `socketPath` connects to a local socket, not a host: no target (never allowlisted);
 * - an absolute-form path (`http://…` or `https://…`: a forward proxy) reaches two hosts, the
 *   proxy and the URL in the path: both are returned, and both must be allowed. The proxy is the
 *   agent's when it names one (http-proxy-agent's `agent.proxy`: it rewrites the path and
 *   connects to the proxy while `req.host` still names the target); a path an agent rewrote
 *   without naming its proxy has no target (whoever it connects to cannot be told); a path the
 *   caller wrote that way is sent to the host Node connects to;
 * - any other path not starting with `/` (authority-form, a scheme-less `host:port/x`) and a
 *   `CONNECT` have no target: the head goes to the host Node connects to, whatever the path
 *   names, so nothing in the path can vouch for that host.
 * `req` is the ClientRequest Node built from the same arguments: its `host`/`protocol`/`path`/
 * `method` are Node's own answer and win when present. Never throws.
 */
export function httpTarget(
  args: readonly unknown[],
  req: ResolvedRequestLike | undefined,
  moduleProtocol: 'http:' | 'https:',
): string | readonly string[] | undefined {
  try {
    const opts = requestOptions(args);
    if (opts === undefined) return undefined;
    if (truthy(req?.socketPath) || truthy(opts.socketPath)) return undefined;
    const method = str(req?.method) ?? str(opts.method);
    if (method !== undefined && method.toUpperCase() === 'CONNECT') return undefined;
    const protocol = str(req?.protocol) ?? (str(opts.protocol) || moduleProtocol);
    const host = str(req?.host) ?? (str(opts.hostname) || str(opts.host) || 'localhost');
    const agent = opts.agent as { defaultPort?: unknown } | null | undefined;
    const fallbackPort = protocol === 'https:' ? 443 : 80;
    const port = opts.port || opts.defaultPort || agent?.defaultPort || fallbackPort;
    const connected = new URL(`${protocol}//${bracket(host)}:${String(port)}`).origin;
    const path = str(req?.path) ?? str(opts.path);
    if (path === undefined || path.startsWith('/') || path === '*') return connected;
    if (!/^https?:\/\//i.test(path)) return undefined;
    const proxy = agentProxy(req?.agent ?? opts.agent);
    if (proxy === null) return undefined;
    if (proxy !== undefined) return [proxy, new URL(path).origin];
    // Rewritten after the caller's arguments (an agent that proxies without saying where to).
    if (path !== (str(opts.path) ?? path)) return undefined;
    return [connected, new URL(path).origin];
  } catch {
    return undefined;
  }
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

function requestOptions(args: readonly unknown[]): Options | undefined {
  const [first, second] = args;
  let input: Options | undefined;
  if (typeof first === 'string') input = urlOptions(new URL(first));
  else if (first instanceof URL) input = urlOptions(first);
  if (input === undefined)
    return typeof first === 'object' && first !== null ? (first as Options) : {};
  if (typeof second === 'object' && second !== null) Object.assign(input, second);
  return input;
}

/** Node's `urlToHttpOptions`: the fields of a WHATWG URL that `http.request` reads. */
function urlOptions(url: URL): Options {
  const out: Options = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    path: `${url.pathname}${url.search}`,
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
