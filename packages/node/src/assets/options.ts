import { resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraylaneError, VERSION_PATTERN } from '@graylane/core';
import { tryGetGrayVersion } from '../context/accessors.js';
import { Digests } from './copies.js';
import { HASHED_NAME } from './hashed-name.js';
import { DEFAULT_VARY } from './limits.js';

/** What {@link AssetLanesOptions.transformHtml} is told about the document it transforms. */
export interface HtmlContext {
  /** The version decided for this request (the one injected into the page), if any. */
  readonly version: string | undefined;
  /** The build folder that serves it: `version`, or the fallback when `version` has no build. */
  readonly lane: string;
  /** The document's path inside the lane folder, e.g. `index.html` or `docs/index.html`. */
  readonly path: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** Options of {@link createAssetLanes}. Only mistakes here throw, at construction. */
export interface AssetLanesOptions {
  /** The folder holding one build per version: `<root>/<version>/` (HTML and assets). */
  readonly root: string;
  /** The version whose folder serves visitors whose version has no build (`config.default`). */
  readonly fallback: string;
  /**
   * The request's version. Default: `tryGetGrayVersion()`, the decision of the graylane
   * middleware mounted before this handler (same precedence, trust mode and rules).
   */
  readonly version?: (req: IncomingMessage) => string | undefined;
  /**
   * The versions whose builds a content-addressed file missing from the request's lane (see
   * `immutable`) is looked up in, after the fallback. Default: the versions of the config in
   * force of this process's graylane middlewares (read per request, so a reloaded config counts
   * at once), then the versions this handler has served a build for. A folder under `root` is
   * never a lane just because of its name (a `releases/` folder of retired builds, a `private/`
   * folder).
   */
  readonly lanes?: readonly string[];
  /** The file served for a path ending in `/`. Default `index.html`; `false` serves none. */
  readonly index?: string | false;
  /**
   * Which files are content-hashed (served `immutable` for a year, never `Vary`, and found in the
   * other lanes when missing from the visitor's), given the path inside the lane folder
   * (`assets/chunk1-BWWrtsXX.js`). Default: {@link HASHED_NAME} (`main-7QZ3X2AB.js`,
   * `index.3f9a1c0b.css`). For a Vite build, whose `[hash]` may have no digit:
   * `(p) => p.startsWith('assets/')` (Next.js: `_next/static/`). `false`: no file is treated as
   * immutable. A name {@link HASHED_NAME} recognises is found in the other lanes whatever this
   * option says; any other file is served from the visitor's lane only (a visitor cannot pick
   * another lane's `flags.json` by path). Either way a name is only shared while every lane that
   * holds it holds the same bytes; else it is served per lane. Without this option, a name that
   * only looks hashed by a run that also reads as a word (`logo-FACEBOOK.png`) is revalidated
   * (`public, no-cache`) until every lane's build holds the same bytes under it; a name this
   * option matches is trusted (a year from the first deploy).
   */
  readonly immutable?: RegExp | false | ((path: string) => boolean);
  /** Request headers the lane depends on, sent as `Vary` on HTML. Default `Cookie, X-Gray-Id`. */
  readonly vary?: readonly string[];
  /** Inject `<meta name="graylane-version">` into HTML. Default `true`. */
  readonly meta?: boolean;
  /**
   * Also inject `<script>window.__GRAYLANE__ = { version, … }</script>`: `true` for
   * `{ version }`, a function for extra (JSON) fields. Default off.
   */
  readonly inlineConfig?: boolean | ((req: IncomingMessage) => Record<string, unknown> | undefined);
  /** The request's CSP nonce for the inline config (e.g. `res.locals.cspNonce`). */
  readonly nonce?: (req: IncomingMessage, res: ServerResponse) => string | undefined;
  /** Transforms an HTML document before injection (server-side rendering into a template). */
  readonly transformHtml?: (html: string, context: HtmlContext) => string | Promise<string>;
}

/** @internal Options with defaults applied. */
export interface ResolvedAssetOptions {
  readonly root: string;
  readonly fallback: string;
  readonly version: (req: IncomingMessage) => string | undefined;
  /** The `lanes` option with the fallback first; `undefined`: the configs' versions, per request. */
  readonly lanes: readonly string[] | undefined;
  /**
   * Without the `lanes` option: the versions this handler has served a build for (bounded),
   * searched after the configs' versions (a custom `version(req)` with no graylane middleware in
   * the process declares none).
   */
  readonly served: Set<string>;
  /** Digests of content-addressed files, to compare their copies in two lanes. */
  readonly digests: Digests;
  readonly index: string | false;
  readonly immutable: (path: string) => boolean;
  /**
   * Whether `immutable` was passed: the app vouches for its names. Else a name only looks hashed
   * (`HASHED_NAME`), and one that also reads as a word is not trusted with a year on its shape.
   */
  readonly immutableDeclared: boolean;
  readonly vary: readonly string[];
  readonly meta: boolean;
  readonly inlineConfig: AssetLanesOptions['inlineConfig'];
  readonly nonce: AssetLanesOptions['nonce'];
  readonly transformHtml: AssetLanesOptions['transformHtml'];
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
const INDEX_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** @internal Checks the options (throws `INVALID_OPTIONS`) and applies the defaults. */
export function resolveAssetOptions(o: AssetLanesOptions): ResolvedAssetOptions {
  if (typeof o !== 'object' || o === null) fail('options are required ({ root, fallback })');
  if (typeof o.root !== 'string' || o.root === '') fail('root must be a folder path');
  if (!VERSION_PATTERN.test(o.fallback))
    fail(`fallback ${JSON.stringify(o.fallback)} is not a version label`);
  const index = o.index ?? 'index.html';
  if (index !== false && !INDEX_NAME.test(index))
    fail(`index ${JSON.stringify(index)} is not a file name`);
  const vary = o.vary ?? DEFAULT_VARY;
  for (const lane of o.lanes ?? []) {
    if (!VERSION_PATTERN.test(lane))
      fail(`lanes entry ${JSON.stringify(lane)} is not a version label`);
  }
  for (const name of vary)
    if (!TOKEN.test(name)) fail(`vary entry ${JSON.stringify(name)} is not a header name`);
  return {
    root: resolve(o.root),
    fallback: o.fallback,
    version: o.version ?? (() => tryGetGrayVersion()),
    lanes: o.lanes === undefined ? undefined : [...new Set([o.fallback, ...o.lanes])],
    served: new Set<string>(),
    digests: new Digests(),
    index,
    immutable: immutableTest(o.immutable),
    immutableDeclared: o.immutable !== undefined && o.immutable !== false,
    vary,
    meta: o.meta ?? true,
    inlineConfig: o.inlineConfig,
    nonce: o.nonce,
    transformHtml: o.transformHtml,
  };
}

function immutableTest(option: AssetLanesOptions['immutable']): (path: string) => boolean {
  if (option === false) return () => false;
  if (typeof option === 'function') return option;
  const pattern = option ?? HASHED_NAME;
  if (!(pattern instanceof RegExp)) fail('immutable must be a RegExp, a function or false');
  // A global/sticky RegExp keeps `lastIndex` between calls: test a fresh copy's semantics.
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (path) => re.test(path);
}

function fail(message: string): never {
  throw new GraylaneError('INVALID_OPTIONS', `createAssetLanes: ${message}`);
}
