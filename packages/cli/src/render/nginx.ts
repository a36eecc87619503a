import { assetServer } from './assets.js';
import { cookieMap } from './nginx-cookie.js';
import {
  generatedBy,
  labels,
  upstreamAddress,
  markerValue,
  precedenceNote,
  upstreamName,
  type RenderPlan,
} from './plan.js';

/** nginx variable of a request header: lower-case, dashes to underscores. */
function headerVar(header: string): string {
  return `$http_${header.toLowerCase().replace(/-/g, '_')}`;
}

/**
 * The nginx routing snippet: maps, upstreams and a server block that proxies by lane — or, with
 * `assetsRoot`, serves front-end asset lanes from `<root>/<version>/`.
 */
export function renderNginx(plan: RenderPlan, assetsRoot?: string): string {
  const { config, header, cookies, trust } = plan;
  const value = markerValue(plan);
  const slots = cookies.map((_c, i) => i + 1);
  const joined = ['$graylane_header', ...slots.map((i) => `$graylane_cookie_${i}`)].join(':');
  const lines = [
    `# ${generatedBy(plan, 'nginx')} (config ${config.hash}, trust ${trust}).`,
    `# Versions: ${config.versions.join(', ')}; default ${config.default}. Put the map/upstream blocks in \`http {}\`.`,
    ...precedenceNote(plan),
    `map ${headerVar(header)} $graylane_header {`,
    '    default "";',
    `    "~^(?<graylane_h>${value})$" $graylane_h;`,
    '}',
    ...cookies.flatMap((c, i) => cookieMap(c, i + 1, value, cookies.slice(0, i))),
    '# The first valid marker in precedence order.',
    `map "${joined}" $graylane_marker {`,
    '    default "";',
    ...slots.concat(slots.length + 1).map((_s, i) => {
      const before = ':'.repeat(i);
      const after = i === slots.length ? '$' : ':';
      return `    "~^${before}(?<graylane_m>[^:]+)${after}" $graylane_m;`;
    }),
    '}',
    'map $graylane_marker $graylane_version {',
    `    default ${config.default};`,
    `    "~^(?<graylane_v>${labels(plan)})(?:\\.|$)" $graylane_v;`,
    '}',
  ];
  lines.push(
    'map $graylane_version $graylane_upstream {',
    `    default ${upstreamName(config.default)};`,
    // A leading backslash makes every key a plain string, so a version named like one of map's
    // own words (default, include, hostnames, volatile) is just a version.
    ...config.versions.map((v) => `    \\${v} ${upstreamName(v)};`),
    '}',
  );
  for (const v of config.versions) {
    lines.push(
      `upstream ${upstreamName(v)} {`,
      `    server ${upstreamAddress(plan, v)};`,
      '    keepalive 16;',
      '}',
    );
  }
  if (assetsRoot !== undefined) return [...lines, ...assetServer(plan, assetsRoot)].join('\n');
  const forward = trust === 'open' ? '$graylane_version' : '$graylane_marker';
  lines.push(
    'server {',
    `    listen ${plan.listen};`,
    '    location / {',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    trust === 'open'
      ? `        # The upstream reads the lane it was routed to, whatever the client sent.`
      : `        # The token that chose the lane, for the upstream to verify; empty (removed) otherwise.`,
    `        proxy_set_header ${header} ${forward};`,
    '        add_header X-Gray-Route $graylane_version always;',
    '        proxy_pass http://$graylane_upstream;',
    '    }',
    '}',
  );
  return lines.join('\n');
}
