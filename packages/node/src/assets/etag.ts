import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { MAX_IF_NONE_MATCH_BYTES } from './limits.js';

/** A weak validator from size and modification time (the file is streamed, not hashed). */
export function fileEtag(stat: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
}

/** A strong validator of exactly these bytes (HTML after injection: it differs by version). */
export function bodyEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * `If-None-Match` evaluation (RFC 9110 §13.1.2, weak comparison). Total and bounded: a missing,
 * oversized or malformed header never matches, so the full response is sent.
 */
export function notModified(header: string | readonly string[] | undefined, etag: string): boolean {
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (typeof value !== 'string' || value.length > MAX_IF_NONE_MATCH_BYTES) return false;
  const wanted = opaque(etag);
  for (const raw of value.split(',')) {
    const tag = raw.trim();
    if (tag === '*' || (tag !== '' && opaque(tag) === wanted)) return true;
  }
  return false;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
