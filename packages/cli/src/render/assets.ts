import { HASHED_NAME as NODE_HASHED_NAME } from '@graylane/node/assets';
import {
  buildFolder,
  lookupChain,
  lookupStart,
  NGINX_MAX_NAMED_HOPS,
  type Lookup,
} from './assets-lookup.js';
import type { RenderPlan } from './plan.js';

/**
 * Content-hashed file names: `@graylane/node/assets`'s `HASHED_NAME`, the same source (PCRE reads
 * it as JavaScript does: lookaheads only, no flags), so nginx and the Node gateway share exactly
 * the same names (`main-7QZ3X2AB.js`, `index.3f9a1c0b.css`; never `hero-1920x1080.jpg`).
 */
const HASHED_NAME = NODE_HASHED_NAME.source;
/**
 * Request targets `@graylane/node/assets` refuses, matched as sent (`$request_uri`): nginx
 * decodes and normalises `$uri` (`/a/../b` → `/b`, `%2f` → `/`, `%2e` → `.`), which would hide
 * them. Empty segments (`//`), a segment starting with `.` raw or encoded (dot segments,
 * dotfiles, `.git/`), encoded or raw separators (`%2f`, `%5c`, `\`). `\x5c` is PCRE's backslash
 * (nginx keeps `\x` as written).
 */
const REFUSED_TARGET = '^[^?]*(?://|/\\.|/%2e|%2f|%5c|\\x5c)';
/** The same cache lifetimes as `@graylane/node/assets`. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PER_LANE = 'private, no-cache';
/** An error (a 404 during a rolling deploy, a 416) is never stored, by browsers or CDNs. */
const ERROR = 'no-store';
/** Statuses that carry the file's own cache policy. */
const CACHED_STATUSES = ['200', '206', '304'] as const;

/** `map $status` giving `value` for a served file, `no-store` for anything else. */
function cacheMap(name: string, value: string): string[] {
  return [
    `map $status ${name} {`,
    `    default "${ERROR}";`,
    ...CACHED_STATUSES.map((s) => `    ${s} "${value}";`),
    '}',
  ];
}

/**
 * The refusal, in every asset location: nginx does not inherit `if`/`return` into nested
 * locations, and at server level it would refuse a user's own locations too (`/api/a%2Fb`).
 */
const REFUSE = 'if ($graylane_refused) { return 404; }';

/** An HTML location, nested in `location /`: the lane's own build only, the meta tag injected. */
function htmlLocation(pattern: string, tryFiles: string, root: string): string[] {
  return [
    `        location ~ "${pattern}" {`,
    ...[
      REFUSE,
      ...buildFolder(`${root}/$graylane_build`),
      'etag off;',
      'if_modified_since off;',
      `try_files ${tryFiles} =404;`,
      // The browser SDK starts on the lane the page was served for.
      'sub_filter \'<head>\' \'<head><meta name="graylane-version" content="$graylane_version">\';',
      'sub_filter_once on;',
    ].map((d) => `            ${d}`),
    '        }',
  ];
}

/**
 * The `server` block for front-end asset lanes: one build per version in `<root>/<version>/`,
 * chosen by the same marker maps; a version without a build folder gets the default version's
 * build (lane fallback: the page is still told the decided version, so the marker travels on).
 * HTML (`*.html`, `*.htm`, a folder's `index.html` for a path ending in `/`) comes from the
 * lane's build only, with `<meta name="graylane-version">` injected after `<head>` (nginx
 * `sub_filter`; the build's HTML must contain a literal `<head>` tag). A content-hashed name
 * (`HASHED_NAME`) is looked up in the lane's build, then the default's, then the others' (a page
 * that switched lane mid-session still loads its lazy chunks), cached a year and shared. Any
 * other file comes from the lane's build only, as in `@graylane/node/assets` (a visitor cannot
 * pick a gated lane's `/flags.json` by path): `private, no-cache` with `Vary` and no validator
 * (nginx's mtime-size ETag does not name the lane). Errors are `no-store`. Refused as `@graylane/node/assets` refuses them:
 * dotfiles, dot and empty segments, encoded separators, symlinks inside a build.
 */
export function assetServer(plan: RenderPlan, root: string): string[] {
  const { config } = plan;
  const order = [config.default, ...config.versions.filter((v) => v !== config.default)];
  const chain = order.slice(0, NGINX_MAX_NAMED_HOPS);
  const hashed: Lookup = {
    kind: 'hashed',
    root,
    chain,
    body: [
      'add_header Cache-Control $graylane_immutable_cache always;',
      'add_header X-Gray-Route $graylane_version always;',
    ],
  };
  // Per lane unless a location says otherwise: never shared between visitors of different lanes.
  // Errors are never stored. Set in `location /` (inherited by its nested locations that set no
  // add_header of their own) and in the named locations, never at server level: a location the
  // user adds to this server must not inherit them.
  const perLane = [
    `add_header Vary "Cookie, ${plan.header}" always;`,
    'add_header Cache-Control $graylane_lane_cache always;',
    'add_header X-Gray-Route $graylane_version always;',
  ];
  const indent = (lines: string[]) => lines.map((l) => `    ${l}`);
  return [
    ...cacheMap('$graylane_immutable_cache', IMMUTABLE),
    ...cacheMap('$graylane_lane_cache', PER_LANE),
    '# Refused as @graylane/node/assets refuses them, matched as sent: //, dot segments,',
    '# dotfiles, %2f, %5c, \\. Checked in the asset locations only.',
    'map $request_uri $graylane_refused {',
    '    default 0;',
    `    "~*${REFUSED_TARGET}" 1;`,
    '}',
    '# Front-end asset lanes: one build per version in',
    `# ${root}/<version>/ (HTML + assets); a version without a build folder is`,
    `# served ${config.default}'s build, and the page is still told the decided version.`,
    'server {',
    `    listen ${plan.listen};`,
    '    # Keeps // in $uri, so that the asset locations can refuse it.',
    '    merge_slashes off;',
    `    set $graylane_build $graylane_version;`,
    `    if (!-d ${root}/$graylane_version) {`,
    `        set $graylane_build ${config.default};`,
    '    }',
    '    # Every asset rule (refusals, headers, HTML, lookups) lives inside location /, so a',
    '    # location added to this server (location ^~ /api/ { ... }, location',
    '    # /.well-known/acme-challenge/ { ... }) gets none of them.',
    '    location / {',
    `        ${REFUSE}`,
    ...indent(indent(perLane)),
    "        # HTML: the lane's own build only, told the lane it was served for. A folder without a",
    '        # trailing / is not a page (404, no redirect).',
    ...htmlLocation('/$', '${uri}index.html', root),
    ...htmlLocation('\\.html?$', '$uri', root),
    "        # Content-hashed files: the name is the content, so any build's copy will do.",
    `        location ~ "${HASHED_NAME}" {`,
    `            ${REFUSE}`,
    '            # Validators back on (nginx defaults; location / turns them off for its files).',
    '            etag on;',
    '            if_modified_since exact;',
    ...indent(lookupStart(hashed)),
    '        }',
    "        # Any other file: the lane's build only (a gated lane's /flags.json is not another",
    "        # lane's to take); per lane, without validators.",
    ...[
      ...buildFolder(`${root}/$graylane_build`),
      'try_files $uri =404;',
      'etag off;',
      'if_modified_since off;',
    ].map((d) => `        ${d}`),
    '    }',
    ...lookupChain(hashed),
    '    # Your own locations go here, e.g. an API proxied by lane:',
    '    #     location ^~ /api/ { proxy_pass http://$graylane_upstream; }',
    '    # (^~: no regex location can take its URIs). They get none of the asset rules above.',
    '}',
  ];
}
