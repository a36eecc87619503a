import type { IncomingMessage, ServerResponse } from 'node:http';
import { VERSION_PATTERN } from '@graylane/core';
import { currentStore } from '../context/storage.js';
import { isHtml } from './content-type.js';
import { copiesAgree } from './copies.js';
import { laneFolder, openInLane, type LaneFile } from './files.js';
import { learnLane, otherLanes } from './lanes.js';
import { sendAsset, sendHtml } from './send.js';
import {
  resolveAssetOptions,
  type AssetLanesOptions,
  type ResolvedAssetOptions,
} from './options.js';
import { safePath } from './path.js';
import { HASHED_NAME } from './hashed-name.js';
import { AssetCounters, type AssetLaneStats } from './stats.js';

/** Connect/express `next`. */
export type AssetNextFunction = (err?: unknown) => void;

/**
 * The asset-lane handler: connect/express middleware (calls `next()` for anything it does not
 * serve) or a plain `node:http` handler (answers 404 itself when `next` is absent).
 */
export type AssetLanes = ((
  req: IncomingMessage,
  res: ServerResponse,
  next?: AssetNextFunction,
) => void) & {
  /** This handler's counters (served, fallbacks, refused paths, skipped injections). */
  stats(): AssetLaneStats;
};

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
 * `..`, encoded separators, NUL, dotfiles or symlinks out of the build). Never throws; I/O and
 * `transformHtml` errors go to `next(err)` (500 without `next`).
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
        (served) => {
          if (!served) notFound(res, next);
        },
        (err: unknown) => failed(res, next, err),
      )
      // A `next` that throws (not express's): end this response rather than leak a rejection.
      .catch(() => res.destroy());
  };
  Object.defineProperty(handler, 'stats', { value: () => counters.snapshot() });
  return handler as AssetLanes;
}

async function serve(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (res.headersSent || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const path = safePath(req.url);
  if (!path.ok) {
    c.rejectPath(path.reason);
    return false;
  }
  const segments = path.directory
    ? o.index === false
      ? []
      : [...path.segments, o.index]
    : path.segments;
  if (segments.length === 0) return false;
  const version = decidedVersion(o, c, req);
  const lane = await pickLane(o, c, version);
  if (!lane) {
    c.miss('no_build');
    return false;
  }
  const rel = segments.join('/');
  if (isHtml(rel)) {
    const file = await findFile(o, c, lane, segments, false);
    if (file) await sendHtml({ o, c, req, res, file, rel, version });
    return file !== undefined;
  }
  const immutable = isImmutable(o, rel);
  const found = await findShared(o, c, lane, segments, immutable, HASHED_NAME.test(rel));
  if (found) sendAsset({ o, c, req, res, rel, ...found });
  return found !== undefined;
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
 * {@link findFile} for a file that may be shared by the lanes, and whether it is: a name is only
 * content-addressed when no two lanes hold different bytes under it (see {@link copiesAgree}). The
 * visitor's lane's own copy of such a name is then served per lane (`immutable: false`: `Vary`,
 * `private, no-cache`), and a lane lacking it gets none (`conflict`): which lane's would it be?
 */
async function findShared(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  lane: Lane,
  segments: readonly string[],
  immutable: boolean,
  hashed: boolean,
): Promise<{ file: LaneFile; immutable: boolean } | undefined> {
  const file = await findFile(o, c, lane, segments, immutable || hashed);
  if (!file) return undefined;
  const borrowed = file.lane !== lane.name;
  if (!immutable && !borrowed) return { file, immutable };
  if (await copiesAgree(o, file.lane, segments, file)) return { file, immutable };
  c.conflict();
  if (!borrowed) return { file, immutable: false };
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

function notFound(res: ServerResponse, next: AssetNextFunction | undefined): void {
  if (next) return next();
  if (res.headersSent) return void res.end();
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end('Not Found');
}

function failed(res: ServerResponse, next: AssetNextFunction | undefined, err: unknown): void {
  if (next) return next(err);
  if (res.headersSent) return void res.destroy();
  res.statusCode = 500;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end('Internal Server Error');
}
