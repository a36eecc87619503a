import type { GrayClient } from './client.js';
import { resolveUrl } from './url.js';

const warned = new Set<string>();

/**
 * @internal In debug mode, warns once per origin when a request that carried the marker failed at
 * the network level: the usual cause is a CORS preflight that does not allow the header, at the
 * origin or at wherever it redirects (CORS-02, RDR-03). Only the origin is printed, never
 * userinfo or path (BR-07). Aborts are the caller's and never warn.
 */
export function warnPreflight(client: GrayClient | undefined, href: string, error?: unknown): void {
  const origin = client?.debug ? resolveUrl(href)?.origin : undefined;
  if (!origin || warned.has(origin) || (error as { name?: unknown })?.name == 'AbortError') return;
  warned.add(origin);
  console.warn(
    `[graylane] ${origin} failed with ${client?.header}: allow it in Access-Control-Allow-Headers (also where it redirects) or drop it from allow`,
  );
}
