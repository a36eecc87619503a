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
 * The target of an undici request: its origin, or — when the path is in absolute form, as when
 * it goes through a forward proxy — the URL in the path. The target is what the allowlist judges;
 * a proxy in between is infrastructure, as for every HTTP client. Never throws.
 */
export function undiciTarget(origin: unknown, path: unknown): string | undefined {
  try {
    if (typeof path === 'string' && /^https?:\/\//i.test(path)) return new URL(path).origin;
    return origin === undefined || origin === null ? undefined : String(origin);
  } catch {
    return undefined;
  }
}
