import type { IncomingMessage, ServerResponse } from 'node:http';
import { contentTypeFor } from './content-type.js';
import { bodyEtag, fileEtag, notModified } from './etag.js';
import type { LaneFile } from './files.js';
import { addVary, sendNotModified, setFileHeaders } from './headers.js';
import { HTML_AS_IS, HTML_UTF8, largeHtmlType } from './html-encoding.js';
import { injectIntoHead, inlineConfigScript, metaTag, scriptJson } from './inject.js';
import {
  IMMUTABLE_CACHE_CONTROL,
  LANE_CACHE_CONTROL,
  MAX_HTML_BYTES,
  NONCE_CACHE_CONTROL,
  NONCE_PATTERN,
  REVALIDATE_CACHE_CONTROL,
} from './limits.js';
import { isUtf8Html } from './meta-charset.js';
import type { ResolvedAssetOptions } from './options.js';
import { setSharedCacheControl } from './shared-cache.js';
import type { AssetCounters } from './stats.js';
import { streamFile } from './stream.js';

/** @internal What a send step needs about the request and the file. */
export interface SendContext {
  readonly o: ResolvedAssetOptions;
  readonly c: AssetCounters;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly file: LaneFile;
  /** The path inside the lane folder. */
  readonly rel: string;
}

/**
 * How a file may be cached: `year` (content-addressed and the same in every lane: shared, one
 * year, `immutable`), `revalidate` (the same for every lane now, but a lane may still deploy other
 * bytes under its name: shared, revalidated on every use), `lane` (depends on the lane).
 */
export type FileCaching = 'year' | 'revalidate' | 'lane';

/**
 * Streams a file (exactly the size announced), or sends `body` when it was already read.
 * A file shared by every lane has no `Vary` and an ETag of its own (`year`: one year,
 * `immutable`; `revalidate`: `public, no-cache`; `private` either way when the response sets a
 * cookie); anything else depends on the lane (`Vary`, `private, no-cache`, an ETag that names the
 * lane it came from so a switch of lane never revalidates to the other lane's bytes).
 * `contentType` overrides the type of the extension (HTML sent as it is).
 */
export function sendAsset(
  ctx: SendContext & {
    readonly caching: FileCaching;
    readonly contentType?: string;
    readonly body?: Buffer;
  },
): void {
  const { o, c, req, res, file, rel, caching, body } = ctx;
  const etag =
    caching === 'lane'
      ? fileEtag(file.stat).replace('W/"', `W/"${file.lane}-`)
      : fileEtag(file.stat);
  const type = ctx.contentType ?? contentTypeFor(rel);
  setFileHeaders(res, type, LANE_CACHE_CONTROL, body?.length ?? file.stat.size, etag);
  if (caching === 'year') setSharedCacheControl(res, IMMUTABLE_CACHE_CONTROL);
  else if (caching === 'revalidate') setSharedCacheControl(res, REVALIDATE_CACHE_CONTROL);
  else addVary(res, o.vary);
  // A conditional HEAD is answered like the GET it stands for: 304 when the validator matches.
  const fresh = notModified(req.headers['if-none-match'], etag);
  if (fresh || req.method === 'HEAD' || body !== undefined) {
    void file.handle.close().catch(() => undefined);
    if (fresh) sendNotModified(res);
    else res.end(req.method === 'HEAD' ? undefined : body);
    c.serve(file.lane, fresh ? 'not_modified' : kindOf(caching));
    return;
  }
  c.serve(file.lane, kindOf(caching));
  streamFile(file, res);
}

const kindOf = (caching: FileCaching): 'immutable' | 'asset' =>
  caching === 'year' ? 'immutable' : 'asset';

/**
 * Sends an HTML document with the version injected: read whole (at most
 * {@link MAX_HTML_BYTES}; larger ones are streamed unchanged and counted), transformed by
 * `transformHtml`, then `<meta name="graylane-version">` (and the inline config) inserted right
 * after `<head>`: the one graylane-version meta of the head (one the page already had there is
 * replaced, see `injectIntoHead`). Only a UTF-8 document is decoded and stamped (see
 * `isUtf8Html`): any other (UTF-16, windows-1252, Shift_JIS, bytes that are not UTF-8) is sent
 * byte for byte without a charset, as a file of the lane, and counted (`not_utf8`).
 */
export async function sendHtml(
  ctx: SendContext & { readonly version: string | undefined },
): Promise<void> {
  const { o, c, req, res, file, rel, version } = ctx;
  if (file.stat.size > MAX_HTML_BYTES) {
    c.skipInjection('html_too_large');
    const contentType = await largeHtmlType(file).catch(() => HTML_AS_IS);
    return sendAsset({ ...ctx, caching: 'lane', contentType });
  }
  let bytes: Buffer;
  try {
    bytes = await file.handle.readFile();
  } finally {
    await file.handle.close().catch(() => undefined);
  }
  if (!isUtf8Html(bytes)) {
    c.skipInjection('not_utf8');
    return sendAsset({ ...ctx, caching: 'lane', contentType: HTML_AS_IS, body: bytes });
  }
  // A UTF-8 byte order mark stays the first character, and goes out first again.
  let html = bytes.toString('utf8');
  if (o.transformHtml) {
    html = await o.transformHtml(html, { version, lane: file.lane, path: rel, req, res });
    if (typeof html !== 'string')
      throw new TypeError('[graylane] transformHtml must return a string');
  }
  const nonce = readNonce(o, req, res);
  const { meta, tags } = injection(o, c, req, version, nonce);
  const body = injectIntoHead(html, tags, meta);
  // A per-request nonce makes every body unique: no validator, and nothing may store it.
  const unique = typeof nonce === 'string';
  const etag = unique ? undefined : bodyEtag(body);
  setFileHeaders(
    res,
    HTML_UTF8,
    unique ? NONCE_CACHE_CONTROL : LANE_CACHE_CONTROL,
    Buffer.byteLength(body),
    etag,
  );
  addVary(res, o.vary);
  if (etag !== undefined && notModified(req.headers['if-none-match'], etag)) {
    c.serve(file.lane, 'not_modified');
    return sendNotModified(res);
  }
  c.serve(file.lane, 'html');
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** What to inject: the meta tag (which replaces any the head already has), the inline config. */
function injection(
  o: ResolvedAssetOptions,
  c: AssetCounters,
  req: IncomingMessage,
  version: string | undefined,
  nonce: string | undefined | false,
): { meta: string; tags: string } {
  if (version === undefined) {
    c.skipInjection('no_version');
    return { meta: '', tags: '' };
  }
  const meta = o.meta ? metaTag(version) : '';
  if (!o.inlineConfig) return { meta, tags: '' };
  if (nonce === false) {
    // A nonce that is not a nonce: a script without a valid one would be blocked by CSP anyway.
    c.skipInjection('invalid_nonce');
    return { meta, tags: '' };
  }
  const json = scriptJson({ ...extraConfig(o, req), version });
  if (json === undefined) c.skipInjection('inline_config');
  return { meta, tags: json === undefined ? '' : inlineConfigScript(json, nonce) };
}

function extraConfig(o: ResolvedAssetOptions, req: IncomingMessage): Record<string, unknown> {
  if (typeof o.inlineConfig !== 'function') return {};
  try {
    const extra = o.inlineConfig(req);
    return typeof extra === 'object' && extra !== null ? extra : {};
  } catch {
    return {};
  }
}

/** The request's nonce: a string, `undefined` (none configured or given), or `false` (invalid). */
function readNonce(
  o: ResolvedAssetOptions,
  req: IncomingMessage,
  res: ServerResponse,
): string | undefined | false {
  if (!o.nonce) return undefined;
  let raw: unknown;
  try {
    raw = o.nonce(req, res);
  } catch {
    return false;
  }
  if (raw === undefined) return undefined;
  return typeof raw === 'string' && NONCE_PATTERN.test(raw) ? raw : false;
}
