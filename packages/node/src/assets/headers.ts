import type { ServerResponse } from 'node:http';

/**
 * Adds `names` to the response's `Vary` without duplicates (case-insensitive), keeping what an
 * earlier middleware put there (`Accept-Encoding` from compression, say). `Vary: *` stays.
 */
export function addVary(res: ServerResponse, names: readonly string[]): void {
  if (names.length === 0) return;
  const current = res.getHeader('vary');
  const list = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.includes('*')) return;
  const seen = new Set(list.map((s) => s.toLowerCase()));
  for (const name of names) {
    if (!seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      list.push(name);
    }
  }
  res.setHeader('Vary', list.join(', '));
}

/** The headers every served file gets. */
export function setFileHeaders(
  res: ServerResponse,
  contentType: string,
  cacheControl: string,
  length: number,
  etag: string | undefined,
): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Length', String(length));
  if (etag !== undefined) res.setHeader('ETag', etag);
  else res.removeHeader('ETag');
}

/** Answers 304 Not Modified: no body, no entity headers beyond the validators. */
export function sendNotModified(res: ServerResponse): void {
  res.statusCode = 304;
  res.removeHeader('Content-Type');
  res.removeHeader('Content-Length');
  res.end();
}
