import type { IncomingMessage, ServerResponse } from 'node:http';
import { contentTypeFor } from './content-type.js';
import { bodyEtag, fileEtag, notModified } from './etag.js';
import type { LaneFile } from './files.js';
import { addVary, sendNotModified, setFileHeaders } from './headers.js';
import { injectIntoHead, inlineConfigScript, metaTag, scriptJson } from './inject.js';
import {
  LANE_CACHE_CONTROL,
  MAX_HTML_BYTES,
  NONCE_CACHE_CONTROL,
  NONCE_PATTERN,
} from './limits.js';
import type { ResolvedAssetOptions } from './options.js';
import { setImmutableCacheControl } from './shared-cache.js';
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
 * Streams a file (exactly the size announced). Content-hashed files are shared by every lane
 * (no `Vary`, one year, `immutable`; `private` when the response sets a cookie); anything else
 * depends on the lane (`Vary`, `private, no-cache`, an ETag that names the lane it came from so
 * a switch of lane never revalidates to the other lane's bytes).
 */
export function sendAsset(ctx: SendContext & { readonly immutable: boolean }): void {
  const { o, c, req, res, file, rel, immutable } = ctx;
  const etag = immutable
    ? fileEtag(file.stat)
    : fileEtag(file.stat).replace('W/"', `W/"${file.lane}-`);
  setFileHeaders(res, contentTypeFor(rel), LANE_CACHE_CONTROL, file.stat.size, etag);
  if (immutable) setImmutableCacheControl(res);
  else addVary(res, o.vary);
  // A conditional HEAD is answered like the GET it stands for: 304 when the validator matches.
  const fresh = notModified(req.headers['if-none-match'], etag);
  if (fresh || req.method === 'HEAD') {
    void file.handle.close().catch(() => undefined);
    if (fresh) sendNotModified(res);
    else res.end();
    c.serve(file.lane, fresh ? 'not_modified' : kindOf(immutable));
    return;
  }
  c.serve(file.lane, kindOf(immutable));
  streamFile(file, res);
}

const kindOf = (immutable: boolean): 'immutable' | 'asset' => (immutable ? 'immutable' : 'asset');

/**
 * Sends an HTML document with the version injected: read whole (at most
 * {@link MAX_HTML_BYTES}; larger ones are streamed unchanged and counted), transformed by
 * `transformHtml`, then `<meta name="graylane-version">` (and the inline config) inserted right
 * after `<head>`: the one graylane-version meta of the head (one the page already had there is
 * replaced, see `injectIntoHead`).
 */
export async function sendHtml(
  ctx: SendContext & { readonly version: string | undefined },
): Promise<void> {
  const { o, c, req, res, file, rel, version } = ctx;
  if (file.stat.size > MAX_HTML_BYTES) {
    c.skipInjection('html_too_large');
    return sendAsset({ ...ctx, immutable: false });
  }
  let html: string;
  try {
    html = await file.handle.readFile('utf8');
  } finally {
    await file.handle.close().catch(() => undefined);
  }
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
    contentTypeFor(rel),
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
