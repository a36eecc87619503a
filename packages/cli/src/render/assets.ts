import type { RenderPlan } from './plan.js';

/**
 * Content-hashed file names, as `@graylane/node/assets` recognises them (its `HASHED_NAME`):
 * a `-` or `.`, then 8 to 64 letters, digits or `_` with at least one digit, or 8 to 64 capitals
 * and digits, then one or two extensions (`main-7QZ3X2AB.js`, `index.3f9a1c0b.css`).
 */
const HASHED_NAME =
  '[.-](?:(?=[A-Za-z_]*[0-9])[A-Za-z0-9_]{8,64}|[A-Z0-9]{8,64})(?:\\.[A-Za-z0-9]{1,8}){1,2}$';
/** The same cache lifetimes as `@graylane/node/assets`. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PER_LANE = 'private, no-cache';

/**
 * The `server` block for front-end asset lanes: one build per version in `<root>/<version>/`,
 * chosen by the same marker maps; a version without a build folder gets the default version's
 * build (lane fallback: the page is still told the decided version, so the marker travels on).
 * HTML and other per-lane files: `Vary: Cookie, <marker header>`, `private, no-cache`, and
 * `<meta name="graylane-version">` injected after `<head>` (nginx `sub_filter`; the build's HTML
 * must contain a literal `<head>` tag). Content-hashed files: looked up in the own build, then
 * the default's, then the others (the name is the content), cached for a year.
 */
export function assetServer(plan: RenderPlan, root: string): string[] {
  const { config } = plan;
  const others = config.versions.filter((v) => v !== config.default);
  return [
    '# Front-end asset lanes: one build per version in',
    `# ${root}/<version>/ (HTML + content-hashed assets); a version without a build folder is`,
    `# served ${config.default}'s build, and the page is still told the decided version.`,
    'server {',
    `    listen ${plan.listen};`,
    `    set $graylane_build $graylane_version;`,
    `    if (!-d ${root}/$graylane_version) {`,
    `        set $graylane_build ${config.default};`,
    '    }',
    "    # Content-hashed files: the name is the content, so any build's copy will do.",
    `    location ~ "${HASHED_NAME}" {`,
    `        root ${root};`,
    `        try_files /$graylane_build$uri /${config.default}$uri ${others.map((v) => `/${v}$uri`).join(' ')} =404;`,
    `        add_header Cache-Control "${IMMUTABLE}" always;`,
    '        add_header X-Gray-Route $graylane_version always;',
    '    }',
    '    # Everything else is per lane: never shared between visitors of different lanes.',
    '    location / {',
    `        root ${root}/$graylane_build;`,
    '        try_files $uri $uri/index.html =404;',
    `        add_header Vary "Cookie, ${plan.header}" always;`,
    `        add_header Cache-Control "${PER_LANE}" always;`,
    '        add_header X-Gray-Route $graylane_version always;',
    '        # The browser SDK starts on the lane the page was served for.',
    '        sub_filter \'<head>\' \'<head><meta name="graylane-version" content="$graylane_version">\';',
    '        sub_filter_once on;',
    '    }',
    `    # An API location in this server can proxy by lane: proxy_pass http://$graylane_upstream;`,
    '}',
  ];
}
