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
 * to. Never throws.
 */
export function undiciTarget(
  origin: unknown,
  path: unknown,
): string | readonly string[] | undefined {
  try {
    const connected = origin === undefined || origin === null ? undefined : String(origin);
    if (typeof path === 'string' && /^https?:\/\//i.test(path))
      return connected === undefined ? undefined : [connected, new URL(path).origin];
    return connected;
  } catch {
    return undefined;
  }
}
