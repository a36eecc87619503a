import type { IncomingMessage, ServerResponse } from 'node:http';
import { VERSION_PATTERN } from '@graylane/core';
import { currentStore } from '../context/storage.js';
import { isHtml } from './content-type.js';
import { compareCopies } from './copies.js';
import { laneFolder, openInLane, type LaneFile } from './files.js';
import { learnLane, otherLanes } from './lanes.js';
import { inAnotherLane, markUncacheable, sendError } from './miss.js';
import { sendAsset, sendHtml, type FileCaching } from './send.js';
import {
  resolveAssetOptions,
  type AssetLanesOptions,
  type ResolvedAssetOptions,
} from './options.js';
import { safePath } from './path.js';
import { HASHED_NAME, isWordLikeHash } from './hashed-name.js';
import { AssetCounters, type AssetLaneStats } from './stats.js';

/** Connect/express `next`. */
export type AssetNextFunction = (err?: unknown) => void;

/**
 * The asset-lane handler: connect/express middleware (calls `next()` for what no lane serves) or
 * a plain `node:http` handler (answers 404 itself when `next` is absent).
 */
export type AssetLanes = ((
  req: IncomingMessage,
  res: ServerResponse,
  next?: AssetNextFunction,
) => void) & {
  /** This handler's counters (served, fallbacks, refused paths, skipped injections). */
  stats(): AssetLaneStats;
};

/**
 * What became of a request: `served`; `pass` (not the gateway's, or a path no lane has: the
 * same for every lane, `next()`); `lane_miss` (a path another lane's build has: answered 404 here,
 * stored by no shared cache).
 */
type Outcome = 'served' | 'pass' | 'lane_miss';

/** @internal A lane folder chosen for a request. */
export interface Lane {
  readonly name: string;
  readonly folder: string;
}

/**
 * Serves the front end of the request's lane: `<root>/<version>/` when that build exists, else
 * `<root>/<fallback>/` (lane fallback, counted; the decided version is still injected, so the
 * marker travels on unchanged). HTML gets `<meta name="graylane-version">` (and optionally an
 * inline config with a CSP nonce), `Vary: Cookie, X-Gray-Id` and `private, no-cache`;
 * content-hashed files get a one-year `immutable` lifetime and, when missing from the lane, are
 * looked up in the other lanes (the name is the content, as long as every lane's copy holds the
 * same bytes), so a CDN can share them and never serves one lane's HTML to another; any other
 * file comes from the visitor's lane only. HTML that is not UTF-8 is sent as it is, without a
 * charset. Paths are checked before the file system is touched (no
 * `..`, encoded separators, NUL, dotfiles or symlinks out of the build). A path another lane's
 * build has, missing from the visitor's, is a 404 answered here (`private, no-store`, `Vary`): a
 * CDN must not keep it for that lane's visitors; a path no lane has goes to `next()`. Never
 * throws; I/O and `transformHtml` errors go to `next(err)` (500 without `next`), marked
 * `private, no-store`.
 *
 * @throws GraylaneError `INVALID_OPTIONS` for bad options (at construction only).
 * @example
 * ```ts
 * import express from 'express';
 * import { graylaneExpress } from '@graylane/node/express';
 * import { createAssetLanes } from '@graylane/node/assets';
 *
 * const app = express();
 * app.use(graylaneExpress({ config, sticky: { httpOnly: false } }));
 * app.use(createAssetLanes({ root: 'dist/web', fallback: 'stable' }));
 * // dist/web/stable/index.html, dist/web/beta/index.html, … one build per version
 * ```
 */
export function createAssetLanes(options: AssetLanesOptions): AssetLanes {
  const o = resolveAssetOptions(options);
  const counters = new AssetCounters();
  const handler = function grayAssetLanes(
    req: IncomingMessage,
    res: ServerResponse,
    next?: AssetNextFunction,
  ): void {
    serve(o, counters, req, res)
      .then(
        (outcome) => {
          if (outcome === 'lane_miss') sendError(o, res, 404);
          else if (outcome === 'pass') notFound(o, res, next);
        },
        (err: unknown) => failed(o, res, next, err),
      )
      // A `next` that throws (not express's): end this response rather than leak a rejection.
      .catch(() => res.destroy());
  };
  Object.defineProperty(handler, 'stats', { value: () => counters.snapshot() });
  return handler as AssetLanes;
}

/**
 * Serves the request, or says why not. Everything decided before the lane is picked (method,
 * path checks, `index: false`) is the same for every lane; a miss after it is the same for every
 * lane only when no other lane has the path either.
 */
async function serve(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Outcome> {
  if (res.headersSent || (req.method !== 'GET' && req.method !== 'HEAD')) return 'pass';
  const path = safePath(req.url);
  if (!path.ok) {
    c.rejectPath(path.reason);
    return 'pass';
  }
  const segments = path.directory
    ? o.index === false
      ? []
      : [...path.segments, o.index]
    : path.segments;
  if (segments.length === 0) return 'pass';
  const version = decidedVersion(o, c, req);
  const lane = await pickLane(o, c, version);
  if (!lane) {
    c.miss('no_build');
    return missed(o, undefined, segments);
  }
  const rel = segments.join('/');
  if (isHtml(rel)) {
    const file = await findFile(o, c, lane, segments, false);
    if (!file) return missed(o, lane.name, segments);
    await sendHtml({ o, c, req, res, file, rel, version });
    return 'served';
  }
  const immutable = isImmutable(o, rel);
  const found = await findShared(o, c, lane, segments, immutable, rel);
  if (!found) return missed(o, lane.name, segments);
  sendAsset({ o, c, req, res, rel, ...found });
  return 'served';
}

/** A miss: the lane's own when another lane's build has the path, else everyone's. */
async function missed(
  o: ResolvedAssetOptions,
  own: string | undefined,
  segments: readonly string[],
): Promise<Outcome> {
  return (await inAnotherLane(o, own, segments)) ? 'lane_miss' : 'pass';
}

/** The request's version from `options.version`, if it is a label (else counted and ignored). */
function decidedVersion(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  req: IncomingMessage,
): string | undefined {
  let v: unknown;
  try {
    v = o.version(req);
  } catch {
    v = undefined;
  }
  if (v === undefined) return undefined;
  if (typeof v === 'string' && VERSION_PATTERN.test(v)) return v;
  c.invalidVersion();
  return undefined;
}

/** The version's build folder, else the fallback's (lane fallback), else none. */
async function pickLane(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  version: string | undefined,
): Promise<Lane | undefined> {
  if (version !== undefined) {
    const folder = await laneFolder(o.root, version);
    if (folder) {
      // A version a decision pointed to, with a build: a lane (bounded).
      learnLane(o, version);
      return { name: version, folder };
    }
  }
  const folder = await laneFolder(o.root, o.fallback);
  if (!folder) return undefined;
  if (version !== undefined && version !== o.fallback) {
    c.fallback(version, o.fallback);
    // Visible through tryGetGrayLane(), as with grayHandlers' lane fallback.
    const store = currentStore();
    if (store?.decision.version === version) store.lane = o.fallback;
  }
  return { name: o.fallback, folder };
}

/**
 * Opens the file in the lane. A content-addressed file (`immutable`, or a name
 * {@link HASHED_NAME} recognises) missing there is looked up in the other lanes too (see
 * {@link otherLanes}): after a QA switch or a cookie change mid-session, the page already loaded
 * asks for its own lazy chunks with the new lane's cookie, and a CDN that cached a 404 would
 * break the lane that has the file. Anything else (`flags.json`, `roadmap.pdf`, an SVG) comes
 * from the visitor's lane only: a visitor cannot pick a gated lane's file by path. HTML never
 * crosses lanes: the document is what says which lane a page view is on.
 */
async function findFile(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  lane: Lane,
  segments: readonly string[],
  crossLanes: boolean,
): Promise<LaneFile | undefined> {
  const own = await openInLane(lane.folder, lane.name, segments);
  if (typeof own !== 'string') return own;
  if (crossLanes && own === 'not_found') {
    for (const name of otherLanes(o, lane.name)) {
      const folder = await laneFolder(o.root, name);
      const found = folder && (await openInLane(folder, name, segments));
      if (found && typeof found !== 'string') return found;
    }
  }
  c.miss(own);
  return undefined;
}

/**
 * {@link findFile} for a file that may be shared by the lanes, and how it may be cached: a name
 * is only content-addressed when no two lanes hold different bytes under it (see
 * {@link compareCopies}). The visitor's lane's own copy of such a name is then served per lane
 * (`lane`: `Vary`, `private, no-cache`), and a lane lacking it gets none (`conflict`): which
 * lane's would it be? A name that only looks hashed by a run that reads as a word
 * ({@link isWordLikeHash}: `logo-FACEBOOK.png`), with no `immutable` option vouching for it, is
 * not given a year until every lane's build holds the same bytes: a lane deployed later with
 * other bytes under it would be served the cached ones (review 173 D2). Until then it is
 * `revalidate`.
 */
async function findShared(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  lane: Lane,
  segments: readonly string[],
  immutable: boolean,
  rel: string,
): Promise<{ file: LaneFile; caching: FileCaching } | undefined> {
  const file = await findFile(o, c, lane, segments, immutable || HASHED_NAME.test(rel));
  if (!file) return undefined;
  const borrowed = file.lane !== lane.name;
  if (!immutable && !borrowed) return { file, caching: 'lane' };
  const copies = await compareCopies(o, file.lane, segments, file, lane.name);
  if (copies !== 'differ') {
    if (!immutable) return { file, caching: 'lane' };
    const provisional = copies === 'some_lanes' && !o.immutableDeclared && isWordLikeHash(rel);
    return { file, caching: provisional ? 'revalidate' : 'year' };
  }
  c.conflict();
  if (!borrowed) return { file, caching: 'lane' };
  await file.handle.close().catch(() => undefined);
  c.miss('conflict');
  return undefined;
}

function isImmutable(o: ResolvedAssetOptions, rel: string): boolean {
  try {
    return o.immutable(rel) === true;
  } catch {
    return false;
  }
}

/** What no lane serves: the app's (`next()`), else a 404 no shared cache stores. */
function notFound(
  o: ResolvedAssetOptions,
  res: ServerResponse,
  next: AssetNextFunction | undefined,
): void {
  if (next) return next();
  sendError(o, res, 404);
}

/** An error may be one lane's (its renderer, its files): no shared cache may store the answer. */
function failed(
  o: ResolvedAssetOptions,
  res: ServerResponse,
  next: AssetNextFunction | undefined,
  err: unknown,
): void {
  if (!next) return sendError(o, res, 500);
  markUncacheable(o, res);
  next(err);
}
