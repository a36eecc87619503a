import type { ServerResponse } from 'node:http';
import { findInLane, laneFolder } from './files.js';
import { addVary } from './headers.js';
import { otherLanes } from './lanes.js';
import { MISS_CACHE_CONTROL } from './limits.js';
import type { ResolvedAssetOptions } from './options.js';

/**
 * True when a lane other than `own` (the visitor's build folder; `undefined` when the visitor
 * has none) holds a file it would serve at `segments`: the visitor's miss then depends on the
 * lane, and a shared cache that stored it would hand it to that lane's visitors (review 173 D1).
 * The lanes are those a content-addressed file is looked up in (see `otherLanes`), at most
 * `MAX_LANES_SEARCHED` lookups.
 */
export async function inAnotherLane(
  o: ResolvedAssetOptions,
  own: string | undefined,
  segments: readonly string[],
): Promise<boolean> {
  for (const name of otherLanes(o, own ?? o.fallback)) {
    const folder = await laneFolder(o.root, name);
    if (folder && typeof (await findInLane(folder, segments)) !== 'string') return true;
  }
  return false;
}

/**
 * Marks an error response of the gateway as one no shared cache may store (`private, no-store`,
 * the lane's `Vary`): it may depend on the lane. Express's `finalhandler` keeps both headers (it
 * removes only `Content-Encoding`, `Content-Language` and `Content-Range`).
 */
export function markUncacheable(o: ResolvedAssetOptions, res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Cache-Control', MISS_CACHE_CONTROL);
  addVary(res, o.vary);
}

/** Answers an error itself (404 or 500, plain text), stored by no shared cache. */
export function sendError(o: ResolvedAssetOptions, res: ServerResponse, status: 404 | 500): void {
  if (res.headersSent) return void (status === 404 ? res.end() : res.destroy());
  res.statusCode = status;
  res.removeHeader('ETag');
  res.removeHeader('Last-Modified');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  markUncacheable(o, res);
  res.end(status === 404 ? 'Not Found' : 'Internal Server Error');
}
