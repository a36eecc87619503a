/**
 * A `Request` from any fetch implementation: the global one, `undici.Request` (another class
 * with the same shape, MISC-02), node-fetch's. Recognised by shape, never by `instanceof`.
 */
export interface RequestLike {
  readonly url: string;
  readonly headers: { has(name: string): boolean; get(name: string): string | null };
}

/** True for a Request-like fetch input. Never throws. */
export function isRequestLike(input: unknown): input is RequestLike {
  if (typeof input !== 'object' || input === null || input instanceof URL) return false;
  const { url, headers } = input as Partial<RequestLike>;
  return (
    typeof url === 'string' &&
    typeof headers === 'object' &&
    headers !== null &&
    typeof headers.get === 'function' &&
    typeof headers.has === 'function'
  );
}

/** The URL a fetch input points to (string, URL or Request-like), or undefined. Never throws. */
export function fetchTarget(input: unknown): string | undefined {
  try {
    if (isRequestLike(input)) return input.url;
    if (typeof input === 'string' || input instanceof URL) return String(input);
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * The target of an undici request: its origin, the host the head is written to. When the path is
 * in absolute form (a forward proxy asked for another URL) the head reaches both, so both are
 * returned and both must be allowed (`judgeHop`): a path can never vouch for the host it is sent
 * to. A `CONNECT` (any case: `Client#connect`, an `upgrade` or `request` with that method, the
 * tunnel a `ProxyAgent` or `EnvHttpProxyAgent` opens) and any other path — the authority form
 * (`host:port`) undici accepts with it — have none: the head asks that host to open a tunnel
 * elsewhere, so it never carries the marker (CTX-13, as `http.request`'s, http-target.ts). The
 * request then sent inside the tunnel is undici's own, judged on its own origin. Never throws.
 */
export function undiciTarget(
  origin: unknown,
  path: unknown,
  method?: unknown,
): string | readonly string[] | undefined {
  try {
    if (typeof method === 'string' && method.toUpperCase() === 'CONNECT') return undefined;
    const connected = origin === undefined || origin === null ? undefined : String(origin);
    if (typeof path !== 'string' || path.startsWith('/')) return connected;
    if (/^https?:\/\//i.test(path))
      return connected === undefined ? undefined : [connected, new URL(path).origin];
    return undefined;
  } catch {
    return undefined;
  }
}
