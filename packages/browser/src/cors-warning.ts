import type { GrayClient } from './client.js';
import { resolveUrl } from './url.js';

const warned = new Set<string>();

/**
 * @internal In debug mode, warns once per origin when a cross-origin request that carried the
 * marker failed at the network level: the usual cause is a CORS preflight that does not allow the
 * header (RELIABILITY CORS-02). Only the origin is printed, never userinfo or path (BR-07).
 */
export function warnPreflight(client: GrayClient, href: string, error?: unknown): void {
  const origin = client.debug ? resolveUrl(href)?.origin : undefined;
  if (
    !origin ||
    origin === location.origin ||
    warned.has(origin) ||
    (error as { name?: unknown } | undefined)?.name === 'AbortError'
  )
    return;
  warned.add(origin);
  console.warn(
    `[graylane] ${origin} failed: list ${client.header} in its Access-Control-Allow-Headers or drop it from allow`,
  );
}
